"""Helpers shared by the benchmark scripts (not a benchmark itself).

Timing is wall-clock (``time.perf_counter``) around whole subprocesses, so every figure
includes interpreter start-up, plugin import and pytest's own work, as a user sees it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

_COUNT = re.compile(
    r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|tests? collected)"
)


@dataclass
class Timed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 15) -> str:
        text = (self.stdout + "\n" + self.stderr).strip().splitlines()
        return "\n".join(text[-lines:])


ENV_OVERRIDES: dict[str, str | None] = {}
"""Applied to every timed subprocess (see :func:`use_bytecode_cache`)."""


def use_bytecode_cache(enabled: bool, prefix: Path) -> str:
    """Give the timed runs a private, warmable bytecode cache, as a developer's machine has.

    The sandbox sets PYTHONDONTWRITEBYTECODE=1, so every run would recompile the modules
    without a .pyc and pytest would re-rewrite the asserts of every plugin module (its
    rewrite cache is off too). PYTHONPYCACHEPREFIX keeps the cache out of the source tree.
    Returns a description for the output.
    """
    if enabled:
        ENV_OVERRIDES["PYTHONDONTWRITEBYTECODE"] = None
        ENV_OVERRIDES["PYTHONPYCACHEPREFIX"] = str(prefix)
        return f"bytecode cache on (PYTHONPYCACHEPREFIX={prefix}, warmed)"
    ENV_OVERRIDES["PYTHONDONTWRITEBYTECODE"] = "1"
    return "bytecode cache off (PYTHONDONTWRITEBYTECODE=1: cold imports every run)"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for key, value in ENV_OVERRIDES.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_timed(cmd: Sequence[str], cwd: Path, timeout: float | None = None) -> Timed:
    """Run ``cmd`` to completion; wall seconds from spawn to exit."""
    env = child_env()
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    started = time.perf_counter()
    proc = subprocess.run(
        list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    elapsed = time.perf_counter() - started
    return Timed(elapsed, proc.returncode, proc.stdout, proc.stderr)


def pytest_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "pytest", *args]


def summary_counts(output: str) -> dict[str, int]:
    """Counts from pytest's last summary line, e.g. ``1000 passed in 4.1s``."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        found = _COUNT.findall(line)
        if found:
            counts: dict[str, int] = {}
            for number, word in found:
                key = {
                    "error": "errors",
                    "test collected": "collected",
                    "tests collected": "collected",
                }.get(word, word)
                counts[key] = int(number)
            return counts
    return {}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def write_pyproject(project: Path, port: int | None) -> None:
    text = "[tool.pytest.ini_options]\n"
    if port is not None:
        text += (
            "\n[tool.llmtest.models.bench]\n"
            'adapter = "openai"\n'
            'model = "bench-model"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\n'
        )
    (project / "pyproject.toml").write_text(text)


@contextlib.contextmanager
def fake_server(delay: float, extra: Sequence[str] = ()) -> Iterator[int]:
    """Start tests/support/llm_server.py as its own process; yield its port."""
    env = {**child_env(), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [PYTHON, "-m", "tests.support.llm_server", "--port", "0", "--delay", str(delay), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://[\d.]+:(\d+)", line)
        if match is None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"fake server did not start: {line!r} {err[-2000:]}")
        yield int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sdk_alone(port: int, cases: int, concurrency: int) -> float:
    """Wall seconds for the SDK alone, spawn to exit, like the llmtest runs."""
    script = REPO / "benchmarks" / "_sdk_alone.py"
    timed = run_timed([PYTHON, str(script), str(port), str(cases), str(concurrency)], REPO)
    if timed.returncode != 0:
        raise SystemExit(f"the SDK-alone run failed ({timed.returncode}):\n{timed.tail()}")
    return timed.seconds


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"


def load_average() -> str:
    """The machine's load (1/5/15-minute averages), printed at a benchmark's start and end:
    a figure taken while other processes competed for the cores is not a measurement."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min; {os.cpu_count()} cores)"


GC_PROBE_CONFTEST = r"""
# Written by an llmtest benchmark: cyclic-GC time and the moment atexit runs, of one run.
import atexit, gc, json, os, time

_gc = {"start": 0.0, "seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0]}


def _on_gc(phase, info):
    if phase == "start":
        _gc["start"] = time.perf_counter()
    else:
        _gc["seconds"][info["generation"]] += time.perf_counter() - _gc["start"]
        _gc["count"][info["generation"]] += 1


gc.callbacks.append(_on_gc)


def _dump_gc():
    with open(os.environ["LLMTEST_BENCH_GC"], "w") as fh:
        json.dump({"atexit": time.time(), "gc_seconds": _gc["seconds"],
                   "gc_count": _gc["count"]}, fh)


atexit.register(_dump_gc)
"""


def gc_probe(project: Path, cmd: Sequence[str]) -> dict[str, float] | None:
    """Run ``cmd`` once with :data:`GC_PROBE_CONFTEST` in ``project``: the seconds spent in
    cyclic garbage collection (all generations, gen 2) and in interpreter shutdown after
    atexit handlers (module teardown, which frees, or collects, the whole heap)."""
    import json

    out = project / ".gc-probe.json"
    conftest = project / "conftest.py"
    conftest.write_text(GC_PROBE_CONFTEST)
    ENV_OVERRIDES["LLMTEST_BENCH_GC"] = str(out)
    try:
        spawned = time.time()
        timed = run_timed(cmd, project)
    finally:
        conftest.unlink()
        ENV_OVERRIDES.pop("LLMTEST_BENCH_GC", None)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return None
    return {
        "wall": timed.seconds,
        "gc": sum(data["gc_seconds"]),
        "gc2": data["gc_seconds"][2],
        "gc2_count": data["gc_count"][2],
        "shutdown": spawned + timed.seconds - data["atexit"],
    }
