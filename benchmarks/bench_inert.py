"""The plugin in a project without llmtest: 10,000 trivial pytest tests, no case files.

Targets (issue 10, "the plugin is inert"): with the plugin installed, a project of 10,000
trivial pytest tests and no case files runs within 1.02 x the same run with
``-p no:llmtest``; ``pytest --version`` starts no slower than 1.05 x without the plugin.

What it does: writes a temp project (a minimal ``pyproject.toml``, 100 files x 100
``def test_N(): pass``, no case files), runs it once each way with a probe ``conftest.py``
(untimed; it also warms the bytecode cache) to check that the plugin is registered in one
run and blocked, with none of its modules imported, in the other, and that both collect
and pass every test. Then it times, in fresh processes, alternating the order each round,
``pytest -q -p no:cacheprovider`` with the plugin and with ``-p no:llmtest`` (--rounds),
and the start-up both ways (--version-repeats). Figures are medians of wall time, with the
spread and each round's ratio; the children's CPU time and pytest's own session time (its
summary line) are shown beside them.

Start-up is timed twice. Recent pytest (pytest-dev/pytest#13575; 9.2 here) answers a
single ``pytest --version`` before it loads any plugin, so that figure, the one the target
names, cannot see the plugin; ``pytest --version --version`` loads every plugin (it lists
them) and stops there, so it is start-up plus the plugin's import and registration. One
``-X importtime`` run of each says how many llmtest modules it imports and what they cost.

``--python`` picks the interpreter (and so the virtualenv, its pytest and its llmtest), so
the same script measures another tree::

    .venv/bin/python benchmarks/bench_inert.py                       # ~2 min
    .venv/bin/python benchmarks/bench_inert.py --python /work/before/.venv/bin/python
    .venv/bin/python benchmarks/bench_inert.py --rounds 3 --version-repeats 10 --files 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENV_OVERRIDES,
    Timed,
    load_average,
    machine,
    median,
    run_timed,
    summary_counts,
    use_bytecode_cache,
    verdict,
    write_pyproject,
)

TARGET_RUN = 1.02
TARGET_VERSION = 1.05
WITH, WITHOUT = "with plugin", "-p no:llmtest"
STARTUP = {
    "pytest --version": ["--version"],
    "pytest --version --version": ["--version", "--version"],
}
STARTUP_NOTE = {
    "pytest --version": " (the target's own figure)",
    "pytest --version --version": " (start-up with every plugin loaded)",
}

DESCRIBE = r"""
import importlib.metadata as md, importlib.util, json, sys
import pytest
eps = {ep.name: ep.value for ep in md.entry_points(group="pytest11")}
spec = importlib.util.find_spec("llmtest")
print(json.dumps({"pytest": pytest.__version__, "prefix": sys.prefix, "pytest11": eps,
                  "llmtest": spec.origin if spec else None}))
"""

PROBE_CONFTEST = r"""
# Written by benchmarks/bench_inert.py for one untimed run: is the plugin there or not?
import json, os, sys

import pytest

_state = {"stages": {}}
_HEAVY = ("openai", "anthropic", "jsonschema", "fastjsonschema", "rapidfuzz", "yaml", "rich",
          "jinja2", "aiohttp", "httpx", "pydantic", "sqlite3", "asyncio", "concurrent.futures")


def _ours(name, plugin):
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    return name == "llmtest" or str(module).split(".")[0] in ("llmtest", "pytest_llmtest")


def _stage(name):
    _state["stages"][name] = sorted(
        m for m in sys.modules if m.split(".")[0] in ("llmtest", "pytest_llmtest")
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    _stage("configure")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    _stage("session start")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    _stage("collection")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    _stage("session finish")
    pm = session.config.pluginmanager
    plugins = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is not None and _ours(name, plugin):
            plugins[name] = sorted(h.name for h in (pm.get_hookcallers(plugin) or ()))
    _state.update(
        registered=pm.get_plugin("llmtest") is not None,
        blocked=pm.is_blocked("llmtest"),
        plugins=plugins,
        collected=session.testscollected,
        failed=session.testsfailed,
    )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _stage("exit")
    _state["modules"] = _state["stages"]["exit"]
    _state["heavy"] = [m for m in _HEAVY if m in sys.modules]
    with open(os.environ["LLMTEST_BENCH_PROBE"], "w") as fh:
        json.dump(_state, fh)
"""

_SESSION_TIME = re.compile(r" in ([\d.]+)s\b")
_IMPORT_TIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def plugin_imports(stderr: str) -> tuple[int, float]:
    """From ``-X importtime`` output: how many llmtest/pytest_llmtest modules were imported,
    and the cumulative milliseconds of the outermost ones (the plugin with everything it
    pulled in, third-party modules included)."""
    ours: set[str] = set()
    stack: list[tuple[int, float]] = []  # (depth, outermost-ours ms in that subtree)
    for line in stderr.splitlines():
        match = _IMPORT_TIME.match(line)
        if match is None:
            continue
        cumulative, depth, name = int(match.group(2)), len(match.group(3)), match.group(4)
        below = 0.0
        while stack and stack[-1][0] > depth:  # the lines just before are its imports
            below += stack.pop()[1]
        is_ours = name.split(".")[0] in ("llmtest", "pytest_llmtest")
        if is_ours:
            ours.add(name)
        stack.append((depth, cumulative / 1000 if is_ours else below))
    return len(ours), sum(ms for _, ms in stack)


def write_project(project: Path, files: int, per_file: int) -> int:
    project.mkdir()
    write_pyproject(project, None)
    body = "".join(f"def test_{i}():\n    pass\n\n\n" for i in range(per_file))
    for f in range(files):
        (project / f"test_trivial_{f:03d}.py").write_text(body)
    return files * per_file


def run_measured(cmd: list[str], cwd: Path) -> tuple[Timed, float]:
    """The run, and its CPU seconds (user + system) from the children's rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed = run_timed(cmd, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return timed, cpu


def stats(values: list[float], unit: str = "s", digits: int = 2) -> str:
    mid = median(values)
    spread = (max(values) - min(values)) / mid * 100 if mid else float("nan")
    return (
        f"median {mid:.{digits}f} {unit} (min {min(values):.{digits}f}, max "
        f"{max(values):.{digits}f}, spread {spread:.1f} %)"
    )


def probe(project: Path, python: str, variant: list[str], tests: int) -> dict[str, Any]:
    out = project.parent / "probe.json"
    conftest = project / "conftest.py"
    conftest.write_text(PROBE_CONFTEST)
    ENV_OVERRIDES["LLMTEST_BENCH_PROBE"] = str(out)
    try:
        out.unlink(missing_ok=True)
        timed = run_timed(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *variant], project
        )
    finally:
        conftest.unlink()
        ENV_OVERRIDES.pop("LLMTEST_BENCH_PROBE", None)
    try:
        data: dict[str, Any] = json.loads(out.read_text())
    except (OSError, ValueError):
        data = {}
    data["returncode"] = timed.returncode
    data["counts"] = summary_counts(timed.stdout)
    data["tail"] = timed.tail()
    data["ok_run"] = timed.returncode == 0 and data["counts"] == {"passed": tests}
    return data


def describe_probe(label: str, data: dict[str, Any], tests: int) -> list[str]:
    problems = []
    plugins = data.get("plugins") or {}
    modules = data.get("modules") or []
    hooks = sorted({h for names in plugins.values() for h in names})
    print(
        f"    {label:<14} exit {data['returncode']}, {data['counts']}; collected "
        f"{data.get('collected')}; 'llmtest' registered: {data.get('registered')}, blocked: "
        f"{data.get('blocked')}; {len(modules)} llmtest/pytest_llmtest modules imported"
    )
    if plugins:
        print(f"      llmtest plugin objects: {', '.join(sorted(plugins))}")
        print(f"      hooks they implement ({len(hooks)}): {', '.join(hooks)}")
    if modules:
        seen: set[str] = set()
        steps = []
        for stage, names in (data.get("stages") or {}).items():
            new = [n for n in names if n not in seen]
            seen.update(new)
            shown = ", ".join(new[:6]) + (f", ... ({len(new) - 6} more)" if len(new) > 6 else "")
            steps.append(f"{stage} +{len(new)}" + (f" ({shown})" if new else ""))
        print(f"      llmtest modules imported by the end of each stage: {'; '.join(steps)}")
    heavy = ", ".join(data.get("heavy") or []) or "none"
    print(f"      of some heavier modules, imported: {heavy}")
    if not data.get("ok_run") or data.get("collected") != tests:
        problems.append(f"{label}: the run did not collect and pass exactly {tests} tests")
        print("      " + str(data["tail"]).replace("\n", "\n      "))
    if "registered" not in data:
        problems.append(f"{label}: the probe conftest wrote nothing")
    elif label == WITH and not data["registered"]:
        problems.append(f"{label}: the llmtest plugin is not registered")
    elif label == WITHOUT and (data["registered"] or not data["blocked"] or modules):
        problems.append(f"{label}: the llmtest plugin is not fully disabled")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter whose pytest and llmtest are measured (default: this one)",
    )
    parser.add_argument("--files", type=int, default=100, help="test files")
    parser.add_argument("--tests-per-file", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs each way (median)")
    parser.add_argument("--version-repeats", type=int, default=20)
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep this sandbox's PYTHONDONTWRITEBYTECODE=1 (cold imports)",
    )
    args = parser.parse_args()
    # Not resolved: a virtualenv's python is a symlink, and resolving it leaves the venv.
    python = os.path.abspath(args.python)
    ENV_OVERRIDES["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = None

    started = time.perf_counter()
    print(f"bench_inert  ({machine()}; {time.strftime('%Y-%m-%d %H:%M')})")
    print(f"  load average at start: {load_average()}")
    described = run_timed([python, "-c", DESCRIBE], Path.cwd())
    try:
        env = json.loads(described.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"  {python} cannot import pytest:\n    {described.tail()}")
        return 0
    entry = env["pytest11"].get("llmtest")
    print(
        f"  python {python} (prefix {env['prefix']}): pytest {env['pytest']}, llmtest from "
        f"{env['llmtest']}, pytest11 entry point llmtest = {entry}"
    )
    if entry is None:
        print("  the llmtest plugin is not installed in this environment: nothing to measure")
        return 0

    with tempfile.TemporaryDirectory(prefix="llmtest-bench-inert-") as tmp:
        root = Path(tmp)
        print(f"  {use_bytecode_cache(not args.no_bytecode_cache, root / 'pycache')}")
        project, empty = root / "project", root / "empty"
        tests = write_project(project, args.files, args.tests_per_file)
        empty.mkdir()
        write_pyproject(empty, None)
        print(
            f"  project: {args.files} files x {args.tests_per_file} trivial tests = {tests:,} "
            "tests, no case files, a pyproject.toml with an empty [tool.pytest.ini_options]"
        )

        variants = {WITH: [], WITHOUT: ["-p", "no:llmtest"]}
        print("  check (one untimed run each way with a probe conftest.py; warms the caches):")
        problems = []
        for label, extra in variants.items():
            problems += describe_probe(label, probe(project, python, extra, tests), tests)
        if problems:
            for problem in problems:
                print(f"  ERROR: {problem}")
            print("  nothing timed: the comparison would not measure the plugin")
            return 0

        print("  what each start-up imports of llmtest (one -X importtime run each):")
        for name, flags in STARTUP.items():
            figures = []
            for label, extra in variants.items():
                timed = run_timed(
                    [python, "-X", "importtime", "-m", "pytest", *extra, *flags], empty
                )
                modules, ms = plugin_imports(timed.stderr)
                figures.append(f"{label}: {modules} modules, {ms:.0f} ms")
            print(f"    {name:<28} {'; '.join(figures)}")

        run_cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        wall: dict[str, list[float]] = {WITH: [], WITHOUT: []}
        cpu: dict[str, list[float]] = {WITH: [], WITHOUT: []}
        session: dict[str, list[float]] = {WITH: [], WITHOUT: []}
        for n in range(args.rounds):
            order = list(variants) if n % 2 == 0 else list(variants)[::-1]
            for label in order:
                timed, seconds = run_measured([*run_cmd, *variants[label]], project)
                counts = summary_counts(timed.stdout)
                if timed.returncode != 0 or counts != {"passed": tests}:
                    print(f"  round {n + 1}, {label}: exit {timed.returncode}, {counts}:")
                    print("    " + timed.tail().replace("\n", "\n    "))
                    return 0
                wall[label].append(timed.seconds)
                cpu[label].append(seconds)
                found = _SESSION_TIME.findall(timed.stdout)
                session[label].append(float(found[-1]) if found else float("nan"))

        startup: dict[str, dict[str, list[float]]] = {}
        for name, flags in STARTUP.items():
            times = startup[name] = {WITH: [], WITHOUT: []}
            for n in range(args.version_repeats):
                order = list(variants) if n % 2 == 0 else list(variants)[::-1]
                for label in order:
                    timed = run_timed([python, "-m", "pytest", *variants[label], *flags], empty)
                    if timed.returncode != 0 or "pytest" not in timed.stdout + timed.stderr:
                        print(f"  {name}, {label}: exit {timed.returncode}:")
                        print("    " + timed.tail().replace("\n", "\n    "))
                        return 0
                    times[label].append(timed.seconds)

    print(
        f"  pytest -q -p no:cacheprovider, {tests:,} tests, {args.rounds} rounds each way, "
        "alternating (wall time of the whole process):"
    )
    for label in variants:
        runs = ", ".join(f"{t:.2f}" for t in wall[label])
        print(f"    {label:<14} {stats(wall[label])}  (runs: {runs})")
    for label in variants:
        print(
            f"    {label:<14} cpu {stats(cpu[label])}; pytest's own session time "
            f"{stats(session[label])}"
        )
    ratio = median(wall[WITH]) / median(wall[WITHOUT])
    paired = [w / wo for w, wo in zip(wall[WITH], wall[WITHOUT], strict=True)]
    cpu_ratio = median(cpu[WITH]) / median(cpu[WITHOUT])
    session_ratio = median(session[WITH]) / median(session[WITHOUT])
    per_test = (median(wall[WITH]) - median(wall[WITHOUT])) / tests * 1e6
    per_test_cpu = (median(cpu[WITH]) - median(cpu[WITHOUT])) / tests * 1e6
    print(
        f"    ratio with / without: {ratio:.3f} (medians); per round "
        f"{', '.join(f'{r:.3f}' for r in paired)} (median {median(paired):.3f}); "
        f"cpu {cpu_ratio:.3f}; session time {session_ratio:.3f}"
    )
    print(
        f"    per-test overhead: {per_test:+.1f} us per test (wall), {per_test_cpu:+.1f} us (cpu)"
    )
    spread = max((max(v) - min(v)) / median(v) for v in wall.values())
    if spread > 2 * (TARGET_RUN - 1):
        print(
            f"    NOISY: the runs spread over {spread:.0%} of their median, more than twice "
            f"the {TARGET_RUN - 1:.0%} the target allows: the verdict below is not a "
            "measurement (an idle machine, or more --rounds)"
        )

    print(f"  start-up, {args.version_repeats} repeats each way, alternating:")
    ratios = {}
    for name, times in startup.items():
        print(f"    {name}:")
        for label in variants:
            print(f"      {label:<14} {stats([t * 1000 for t in times[label]], 'ms', 0)}")
        ratios[name] = median(times[WITH]) / median(times[WITHOUT])
        delta = (median(times[WITH]) - median(times[WITHOUT])) * 1000
        print(f"      ratio with / without: {ratios[name]:.3f} (medians); {delta:+.0f} ms")

    print(f"  targets: run <= {TARGET_RUN} x, start-up <= {TARGET_VERSION} x")
    print(
        f"  {verdict(ratio <= TARGET_RUN)}: {tests:,} trivial tests, with plugin "
        f"{median(wall[WITH]):.2f} s / -p no:llmtest {median(wall[WITHOUT]):.2f} s = "
        f"{ratio:.3f} x vs <= {TARGET_RUN} x"
    )
    for name, times in startup.items():
        print(
            f"  {verdict(ratios[name] <= TARGET_VERSION)}: {name}, with plugin "
            f"{median(times[WITH]) * 1000:.0f} ms / -p no:llmtest "
            f"{median(times[WITHOUT]) * 1000:.0f} ms = {ratios[name]:.3f} x vs <= "
            f"{TARGET_VERSION} x{STARTUP_NOTE.get(name, '')}"
        )
    print(f"  load average at end: {load_average()}")
    print(f"  took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
