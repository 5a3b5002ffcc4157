"""A/B: run benchmark scripts against two trees, alternately, and put their figures side by side.

Each tree runs with its own ``.venv/bin/python`` and, from its own root, its own copy of the
script (``benchmarks/NAME.py``); a script the before tree lacks (bench_inert, which only
drives pytest) is the after tree's script run with the before tree's python. Each round
runs every named script once per tree, before first in odd rounds and after first in even
ones, so that drift on a shared machine hits both alike. The printed figures are parsed
into one table (median over the rounds: before | after | after / before), the PASS/MISS
lines are listed per tree, and the raw output of every run is saved under ``--out``.

Run from the after tree's root::

    .venv/bin/python benchmarks/ab.py --before /work/before --after . --rounds 3 \\
        --out /tmp/ab bench_collection bench_run bench_compare bench_pytest_concurrency \\
        bench_inert
    .venv/bin/python benchmarks/ab.py --before /work/before --smoke --out /tmp/ab-smoke \\
        bench_compare bench_inert            # the smallest sizes: checks the tools, no figures
    .venv/bin/python benchmarks/ab.py --before /work/before --out /tmp/ab \\
        --args 'bench_pytest_concurrency=--skip-serial' bench_pytest_concurrency
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, median

HERE = Path(__file__).resolve().parent.parent

SMOKE_ARGS = {
    "bench_collection": ["--cases", "1000", "--runs", "1"],
    "bench_run": ["--cases", "500", "--runs", "1"],
    "bench_compare": ["--cases", "1000"],
    "bench_pytest_concurrency": ["--cases", "200", "--runs", "1", "--skip-serial"],
    "bench_inert": ["--files", "10", "--rounds", "2", "--version-repeats", "3"],
    "bench_local": ["--runs", "1"],
}

Figures = dict[str, tuple[float, str]]
"""figure name -> (value, unit); the unit also says which way is better."""


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _figures(text: str, rows: tuple[tuple[str, str, str], ...], **names: str) -> Figures:
    """One figure per (name, pattern, unit) row whose pattern matches; the name may use
    ``{n}``-style fields from ``names`` (e.g. the case count the script printed)."""
    figures: Figures = {}
    for name, pattern, unit in rows:
        match = re.search(pattern, text, re.MULTILINE)
        if match is not None:
            figures[name.format(**names)] = (_num(match.group(1)), unit)
    return figures


def _first(pattern: str, text: str, default: str = "?") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1) if match else default


COLLECTION = (
    ("collect {n} cases, median", r"--collect-only -q \(wall\): median ([\d.]+)", "s"),
    ("collect {n} cases, min", r"--collect-only -q \(wall\): median [\d.]+ s, min ([\d.]+)", "s"),
    ("python -c pass", r"python -c pass\s+([\d.]+) s", "s"),
    ("pytest --version", r"^\s+pytest --version\s+([\d.]+) s", "s"),
    ("empty project --collect-only", r"empty project --collect-only \S+\s+([\d.]+) s", "s"),
    ("load_suite alone", r"load_suite alone, fresh interpreter\s+([\d.]+) s", "s"),
    ("rest (pytest items, GC, shutdown)", r"rest: pytest items\D+(-?[\d.]+) s", "s"),
    ("cyclic GC (one instrumented run)", r"cyclic GC ([\d.]+) s", "s"),
    ("shutdown after atexit", r"shutdown after atexit ([\d.]+) s", "s"),
)


def parse_collection(text: str) -> Figures:
    return _figures(text, COLLECTION, n=_first(r"^  (\d+) cases, [\d.]+ MB JSONL", text))


RUN = (
    ("llmtest's added time per case (SDK)", r"llmtest adds (-?[\d.]+) ms per case", "ms"),
    ("peak RSS", r"peak RSS target < \d+ MB, measured (\d+) MB", "MB"),
)


def parse_run(text: str) -> Figures:
    figures: Figures = {}
    for name, seconds, rate in re.findall(
        r"^    ((?:llmtest|openai SDK alone), .+?)\s{2,}([\d.]+) s\s+(\d+) cases/s", text, re.M
    ):
        figures[f"{name}: cases/s"] = (_num(rate), "/s")
        figures[f"{name}: wall"] = (_num(seconds), "s")
    return figures | _figures(text, RUN)


COMPARE = (
    ("compare 2 x {n}, in-process best", r"in-process: best ([\d.]+) s", "s"),
    (
        "compare 2 x {n}, whole command",
        r"whole command \(subprocess, exit -?\d+\): ([\d.]+) s",
        "s",
    ),
)


def parse_compare(text: str) -> Figures:
    return _figures(text, COMPARE, n=_first(r"bench_compare: ([\d,]+) cases per side", text))


CONCURRENCY = (
    ("collection (--collect-only)", r"collection \(pytest --collect-only[^)]*\): ([\d.]+) s", "s"),
    ("pytest run {run}, median", r"measured: best [\d.]+ s, median ([\d.]+) s", "s"),
    ("pytest run {run}, best", r"measured: best ([\d.]+) s", "s"),
    ("the openai SDK alone, median", r"the openai SDK alone \(.*\), median ([\d.]+) s", "s"),
    ("pytest + llmtest minus the SDK alone", r"minus the SDK alone: ([+-]?[\d.]+) s", "s"),
    ("target (1.25 x ideal + collection)", r"target: <= .* = ([\d.]+) s", "s"),
    ("serial run", r"serial run: ([\d.]+) s wall", "s"),
    ("serial, per case", r"per case (\d+) ms", "ms"),
)


def parse_concurrency(text: str) -> Figures:
    header = r"^  (\d+) cases, server delay (\d+) ms, --llm-concurrency (\d+)"
    found = re.search(header, text, re.MULTILINE)
    run = f"{found.group(1)} cases @ {found.group(3)}, {found.group(2)} ms" if found else "?"
    figures = _figures(text, CONCURRENCY, run=run)
    median_run = figures.get(f"pytest run {run}, median")
    if found and median_run:
        figures["pytest items/s (cases / median run)"] = (int(found.group(1)) / median_run[0], "/s")
    return figures


INERT = (
    ("{n} tests, with plugin, median", r"^    with plugin\s+median ([\d.]+) s \(", "s"),
    ("{n} tests, -p no:llmtest, median", r"^    -p no:llmtest\s+median ([\d.]+) s \(", "s"),
    ("{n} tests, with / without", r"ratio with / without: ([\d.]+) \(medians\); per round", "x"),
    ("{n} tests, with / without (cpu)", r"; cpu ([\d.]+); session time", "x"),
    ("per-test overhead (wall)", r"per-test overhead: ([+-]?[\d.]+) us", "us"),
    ("per-test overhead (cpu)", r"us per test \(wall\), ([+-]?[\d.]+) us", "us"),
)


def parse_inert(text: str) -> Figures:
    n = _first(r"trivial tests = ([\d,]+) tests", text)
    figures = _figures(text, INERT, n=n)
    for label in ("with plugin", "-p no:llmtest"):
        run = figures.get(f"{n} tests, {label}, median")
        if run and n != "?":
            figures[f"pytest items/s, trivial tests / median run, {label}"] = (
                _num(n) / run[0],
                "/s",
            )
    for name, with_ms, without_ms, ratio in re.findall(
        r"(?:PASS|MISS): (pytest --version(?: --version)?), with plugin (\d+) ms / "
        r"-p no:llmtest (\d+) ms = ([\d.]+) x",
        text,
    ):
        figures[f"{name}, with plugin"] = (_num(with_ms), "ms")
        figures[f"{name}, -p no:llmtest"] = (_num(without_ms), "ms")
        figures[f"{name}, with / without"] = (_num(ratio), "x")
    for name, modules, ms in re.findall(
        r"^    (pytest --version(?: --version)?)\s+with plugin: (\d+) modules, (\d+) ms", text, re.M
    ):
        figures[f"{name}: llmtest modules imported"] = (_num(modules), "n")
        figures[f"{name}: their import (-X importtime)"] = (_num(ms), "ms")
    return figures


PARSERS: dict[str, Callable[[str], Figures]] = {
    "bench_collection": parse_collection,
    "bench_run": parse_run,
    "bench_compare": parse_compare,
    "bench_pytest_concurrency": parse_concurrency,
    "bench_inert": parse_inert,
}


def verdicts(text: str) -> list[str]:
    """The scripts' PASS/MISS lines (most start with the verdict; bench_compare ends with it)."""
    lines = [line.strip() for line in text.splitlines()]
    return [
        line
        for line in lines
        if re.match(r"(PASS|MISS)\b", line) or re.search(r": (PASS|MISS)$", line)
    ]


@dataclass
class Tree:
    label: str
    root: Path
    python: Path
    description: str = ""


@dataclass
class Result:
    seconds: float
    returncode: int
    figures: Figures
    verdicts: list[str]
    raw: Path
    tail: str


@dataclass
class Bench:
    name: str
    args: list[str]
    results: dict[str, list[Result]] = field(default_factory=dict)


def child_env() -> dict[str, str]:
    """The caller's environment without what would point a tree at other code or options."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def check_tree(label: str, root: Path) -> Tree:
    root = root.resolve()
    python = root / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{label} tree {root}: no virtualenv at {python}")
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import llmtest, pytest_llmtest, pytest; "
            "print(llmtest.__file__); print(pytest_llmtest.__file__); print(pytest.__version__)",
        ],
        cwd="/",  # not the tree: what its virtualenv imports from anywhere, as in a temp project
        env=child_env(),
        capture_output=True,
        text=True,
    )
    lines = probe.stdout.split()
    if probe.returncode != 0 or len(lines) != 3:
        raise SystemExit(f"{label} tree {root}: {python} cannot import llmtest:\n{probe.stderr}")
    for path in lines[:2]:
        if not Path(path).resolve().is_relative_to(root):
            raise SystemExit(f"{label} tree {root}: its python imports {path}, not its own code")
    git = ["git", "--no-optional-locks", "-C", str(root)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    dirty = len(changed.stdout.splitlines())
    description = (
        f"{root} at {commit.stdout.strip() or '?'}"
        + (f" + {dirty} changed files" if dirty else "")
        + f"; {python} (pytest {lines[2]}); llmtest from {Path(lines[0]).parent}"
    )
    return Tree(label, root, python, description)


def script_for(name: str, tree: Tree, after: Tree) -> tuple[Path, str]:
    own = tree.root / "benchmarks" / f"{name}.py"
    if own.exists():
        return own, ""
    other = after.root / "benchmarks" / f"{name}.py"
    if not other.exists():
        raise SystemExit(f"no benchmarks/{name}.py in {tree.root} or {after.root}")
    return other, f" (the {after.label} tree's script: {tree.label} has none)"


def run_one(bench: Bench, tree: Tree, after: Tree, round_no: int, out: Path) -> Result:
    script, note = script_for(bench.name, tree, after)
    cmd = [str(tree.python), str(script), *bench.args]
    load = load_average()
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree.root, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    raw = out / bench.name / f"round{round_no}-{tree.label}.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(
        f"# {shlex.join(cmd)}\n# cwd {tree.root}{note}\n# load average at start {load}, at end "
        f"{load_average()}\n# exit {proc.returncode}, {seconds:.1f} s\n\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    parse = PARSERS.get(bench.name)
    figures = parse(proc.stdout) if parse else {}
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-4:])
    return Result(seconds, proc.returncode, figures, verdicts(proc.stdout), raw, tail)


def _fmt(value: float, unit: str = "") -> str:
    if value != value:
        return "-"
    if value == 0 or unit == "n":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def _cell(results: list[Result], name: str, unit: str) -> tuple[float, str]:
    values = [r.figures[name][0] for r in results if name in r.figures]
    if not values:
        return float("nan"), "-"
    mid = median(values)
    if len(values) == 1:
        return mid, _fmt(mid, unit)
    return mid, f"{_fmt(mid, unit)} ({', '.join(_fmt(v, unit) for v in values)})"


BETTER = {"s": "lower", "ms": "lower", "us": "lower", "MB": "lower", "x": "lower", "n": "lower"}
BETTER["/s"] = "higher"


def summary(benches: list[Bench], trees: list[Tree], rounds: int) -> str:
    before, after = (t.label for t in trees)
    lines = [
        f"A/B, {rounds} round(s); median over rounds (each round's value in parentheses)",
        *(f"- {t.label}: {t.description}" for t in trees),
        "",
        f"| benchmark | figure | {before} | {after} | {after} / {before} | better |",
        "|---|---|---|---|---|---|",
    ]
    for bench in benches:
        names: list[str] = []
        units: dict[str, str] = {}
        for results in bench.results.values():
            for result in results:
                for name, (_, unit) in result.figures.items():
                    if name not in units:
                        names.append(name)
                        units[name] = unit
        for name in names:
            b, b_text = _cell(bench.results[before], name, units[name])
            a, a_text = _cell(bench.results[after], name, units[name])
            ratio = a / b if b == b and a == a and b != 0 else float("nan")
            better = BETTER.get(units[name], "")
            lines.append(
                f"| {bench.name} | {name} ({units[name]}) | {b_text} | {a_text} | "
                f"{_fmt(ratio) if ratio == ratio else '-'} | {better} |"
            )
        walls = [median([r.seconds for r in bench.results[t]]) for t in (before, after)]
        codes = [",".join(str(r.returncode) for r in bench.results[t]) for t in (before, after)]
        lines.append(
            f"| {bench.name} | script wall time (s), exit codes | {walls[0]:.0f} (exit "
            f"{codes[0]}) | {walls[1]:.0f} (exit {codes[1]}) | {walls[1] / walls[0]:.2f} | |"
        )
    lines.append("")
    for bench in benches:
        for tree in trees:
            last = bench.results[tree.label][-1]
            lines.append(f"{bench.name}, {tree.label} (last round; raw: {last.raw}):")
            lines += [f"    {v}" for v in last.verdicts] or ["    (no PASS/MISS line printed)"]
    failed = [
        (bench.name, label, n, result)
        for bench in benches
        for label, results in bench.results.items()
        for n, result in enumerate(results, 1)
        if not result.figures or not result.verdicts
    ]
    if failed:
        lines += ["", "runs that printed no figures or no verdict (did the script fail?):"]
    for name, label, n, result in failed:
        lines.append(f"  {name}, {label}, round {n} (exit {result.returncode}; {result.raw}):")
        lines += [f"    {line}" for line in result.tail.splitlines()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Raw output: OUT/NAME/roundN-before.txt, -after.txt; OUT/summary.md, figures.json",
    )
    parser.add_argument("benchmarks", nargs="+", help="script names, e.g. bench_collection")
    parser.add_argument("--before", type=Path, required=True, help="the before tree's root")
    parser.add_argument("--after", type=Path, default=HERE, help="the after tree (this one)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for raw output and the summary (default /tmp/llmtest-ab-<time>)",
    )
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="extra arguments for one script, e.g. 'bench_run=--runs 1' (repeatable)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the scripts' smallest sizes (tool check only; the figures are not the targets')",
    )
    args = parser.parse_args()
    out = args.out or Path(f"/tmp/llmtest-ab-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)

    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, sep, rest = item.partition("=")
        if not sep:
            parser.error(f"--args {item!r}: expected NAME=ARGS")
        extra[name.removesuffix(".py")] = shlex.split(rest)
    benches = []
    for name in (n.removesuffix(".py") for n in args.benchmarks):
        bench_args = [*(SMOKE_ARGS.get(name, []) if args.smoke else []), *extra.get(name, [])]
        benches.append(Bench(name, bench_args))

    trees = [check_tree("before", args.before), check_tree("after", args.after)]
    after = trees[1]
    print(f"ab: {args.rounds} round(s), raw output in {out}")
    for tree in trees:
        print(f"  {tree.label}: {tree.description}")
    for bench in benches:
        for tree in trees:
            script, note = script_for(bench.name, tree, after)
            print(f"  {bench.name}, {tree.label}: {shlex.join([str(script), *bench.args])}{note}")
    print(f"  load average at start: {load_average()}", flush=True)

    started = time.perf_counter()
    total = args.rounds * len(benches) * 2
    done = 0
    for round_no in range(1, args.rounds + 1):
        order = trees if round_no % 2 == 1 else trees[::-1]
        for bench in benches:
            for tree in order:
                result = run_one(bench, tree, after, round_no, out)
                bench.results.setdefault(tree.label, []).append(result)
                done += 1
                marks = " ".join("PASS" if "PASS" in v else "MISS" for v in result.verdicts)
                print(
                    f"  [{done}/{total}] round {round_no} {bench.name} {tree.label}: "
                    f"{result.seconds:.0f} s, exit {result.returncode}, "
                    f"{len(result.figures)} figures; {marks or 'no verdict'}",
                    flush=True,
                )

    text = summary(benches, trees, args.rounds)
    text += (
        f"\n\nload average at end: {load_average()}; ab took {time.perf_counter() - started:.0f} s"
    )
    print()
    print(text)
    (out / "summary.md").write_text(text + "\n")
    (out / "figures.json").write_text(
        json.dumps(
            {
                b.name: {
                    label: [
                        {"seconds": r.seconds, "exit": r.returncode, "figures": r.figures}
                        for r in results
                    ]
                    for label, results in b.results.items()
                }
                for b in benches
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
