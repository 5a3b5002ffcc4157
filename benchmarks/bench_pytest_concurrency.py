"""Concurrency under pytest: 1,000 cases against a 200 ms OpenAI-compatible server.

Target (acceptance of the core issue): a suite of 1,000 cases against an OpenAI-compatible
server that answers each request after 200 ms completes under ``pytest`` with
``--llm-concurrency 64`` in no more than 1.25 x the ideal ceil(1000/64) x 0.2 s plus
pytest's own collection time (1.25 x 3.2 s + collection); the same suite with
``--llm-concurrency 1`` shows the serial figure (about 1000 x 0.2 s = 200 s).

What it does: writes a temp project (pyproject.toml with a ``bench`` alias for the openai
adapter, one ``test_bench.llm.jsonl`` of N cases, each with a passing ``contains``),
starts ``tests/support/llm_server.py`` as its own process, times
``pytest --collect-only -q`` (median of 3) and the full run
``pytest -q --llm-model bench --llm-concurrency 64`` (best and median of --runs), checks
exit code 0 and that every case passed, then runs the serial figure.

Run from the repo root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_pytest_concurrency.py  # ~4 min (serial 1,000 cases)
    .venv/bin/python benchmarks/bench_pytest_concurrency.py --serial-cases 100  # ~1 min
    .venv/bin/python benchmarks/bench_pytest_concurrency.py --skip-serial --profile

``--profile`` additionally runs the suite once in-process under cProfile (main thread and
the engine's event-loop thread separately) and prints the hotspots grouped by layer.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    REPO,
    Timed,
    fake_server,
    machine,
    median,
    pytest_cmd,
    run_timed,
    sdk_alone,
    summary_counts,
    use_bytecode_cache,
    verdict,
    write_pyproject,
)

TOLERANCE = 1.25


def write_suite(project: Path, cases: int, name: str = "test_bench.llm.jsonl") -> Path:
    """Fresh prompts every time (a random tag in each), so no response cache or cassette
    can answer a timed run: every case really calls the server."""
    tag = uuid.uuid4().hex[:8]
    path = project / name
    with path.open("w") as out:
        for i in range(cases):
            line = {
                "id": f"c{i:05d}",
                "input": f"What is {i} + 1? Answer with a number. [{tag}]",
                "expected_contains": ["echo", str(i)],
            }
            out.write(json.dumps(line) + "\n")
    return path


def collect(project: Path, runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        timed = run_timed(
            pytest_cmd("--collect-only", "-q", "-p", "no:cacheprovider", "test_bench.llm.jsonl"),
            project,
        )
        if timed.returncode != 0:
            print(f"collection failed (exit {timed.returncode}):\n{timed.tail()}")
            raise SystemExit(0)
        times.append(timed.seconds)
    return times


def run_suite(project: Path, concurrency: int, target: Path | None = None) -> Timed:
    args = [
        "-q",
        "-p",
        "no:cacheprovider",
        "--llm-model",
        "bench",
        "--llm-concurrency",
        str(concurrency),
    ]
    args.append(str((target or project / "test_bench.llm.jsonl").relative_to(project)))
    return run_timed(pytest_cmd(*args), project)


def check_run(timed: Timed, cases: int) -> tuple[bool, str]:
    counts = summary_counts(timed.stdout)
    ok = timed.returncode == 0 and counts.get("passed") == cases and len(counts) == 1
    return ok, f"exit {timed.returncode}, " + ", ".join(f"{v} {k}" for k, v in counts.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per reply (s)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="timed concurrent runs")
    parser.add_argument(
        "--serial-cases",
        type=int,
        default=None,
        help="cases in the --llm-concurrency 1 run (default: --cases)",
    )
    parser.add_argument("--skip-serial", action="store_true")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also run once with an instrumenting conftest.py and print when collection, "
        "submission, the first/last answer and the last report happen",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile one in-process run with cProfile"
    )
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep this sandbox's PYTHONDONTWRITEBYTECODE=1 (cold imports)",
    )
    args = parser.parse_args()

    ideal = math.ceil(args.cases / args.concurrency) * args.delay
    print(f"bench_pytest_concurrency  ({machine()}; {time.strftime('%Y-%m-%d %H:%M')})")
    print(
        f"  {args.cases} cases, server delay {args.delay * 1000:.0f} ms, "
        f"--llm-concurrency {args.concurrency}, {args.runs} runs"
    )

    with tempfile.TemporaryDirectory(prefix="llmtest-bench-") as tmp:
        cache_note = use_bytecode_cache(not args.no_bytecode_cache, Path(tmp) / "pycache")
        print(f"  {cache_note}")
        project = Path(tmp) / "project"
        project.mkdir()
        with fake_server(args.delay) as port:
            write_pyproject(project, port)
            write_suite(project, args.cases)
            _measure(args, project, ideal, port)
    return 0


def _measure(args: argparse.Namespace, project: Path, ideal: float, port: int) -> None:
    # Untimed warm-up: fills the bytecode cache (pytest, plugins, the SDK) and the
    # server's first connections, as any second run on a developer's machine has.
    warm = project / "warmup"
    warm.mkdir()
    warm_file = write_suite(warm, 10, "test_warmup.llm.jsonl")
    timed = run_suite(project, args.concurrency, warm_file)
    ok, detail = check_run(timed, 10)
    if not ok:
        print(f"  warm-up run failed ({detail}):\n    " + timed.tail().replace("\n", "\n    "))
        return

    coll = collect(project)
    collection = median(coll)
    print(
        f"  collection (pytest --collect-only -q, wall, median of 3): {collection:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in coll)})"
    )

    runs: list[float] = []
    floors: list[float] = []
    all_ok = True
    for n in range(args.runs):
        write_suite(project, args.cases)
        timed = run_suite(project, args.concurrency)
        ok, detail = check_run(timed, args.cases)
        all_ok &= ok
        runs.append(timed.seconds)
        # The same requests from the openai SDK alone, right after: the floor on this
        # machine at this minute for anything that calls the server through the SDK.
        floors.append(sdk_alone(port, args.cases, args.concurrency))
        print(
            f"  run {n + 1}: {timed.seconds:.2f} s wall ({detail}); "
            f"the openai SDK alone: {floors[-1]:.2f} s"
        )
        if not ok:
            print("    " + timed.tail().replace("\n", "\n    "))
    best, med = min(runs), median(runs)
    floor = median(floors)
    target = TOLERANCE * ideal + collection
    print()
    print(f"  ideal ceil({args.cases}/{args.concurrency}) x {args.delay:g} s = {ideal:.2f} s")
    print(f"  target: <= {TOLERANCE} x {ideal:.2f} + collection {collection:.2f} = {target:.2f} s")
    print(
        f"  measured: best {best:.2f} s, median {med:.2f} s "
        f"(run minus collection: {med - collection:.2f} s = "
        f"{(med - collection) / ideal:.2f} x ideal)"
    )
    print(
        f"  the openai SDK alone (benchmarks/_sdk_alone.py: same requests, same concurrency, "
        f"its own process, no pytest), median {floor:.2f} s = {floor / ideal:.2f} x ideal; "
        f"pytest + llmtest minus the SDK alone: {med - floor:+.2f} s"
    )
    print(
        f"  {verdict(med <= target and all_ok)}: concurrent run, median {med:.2f} s vs target "
        f"{target:.2f} s{'' if all_ok else ' (some run did not pass every case)'}"
    )

    if not args.skip_serial:
        serial_cases = args.serial_cases or args.cases
        target_file = None
        if serial_cases != args.cases:
            sub = project / "serial"
            sub.mkdir()
            target_file = write_suite(sub, serial_cases, "test_serial.llm.jsonl")
        print()
        print(
            f"  serial: {serial_cases} cases with --llm-concurrency 1"
            + (
                ""
                if serial_cases == args.cases
                else f" (a subset: --serial-cases {serial_cases}, not the full {args.cases})"
            )
        )
        timed = run_suite(project, 1, target_file)
        ok, detail = check_run(timed, serial_cases)
        expected = serial_cases * args.delay
        print(
            f"  serial run: {timed.seconds:.2f} s wall ({detail}); "
            f"ideal {serial_cases} x {args.delay:g} s = {expected:.1f} s; "
            f"per case {timed.seconds / serial_cases * 1000:.0f} ms"
        )
        if serial_cases != args.cases:
            print(
                f"  extrapolated to {args.cases} cases: "
                f"{(timed.seconds - collection) * args.cases / serial_cases + collection:.1f} s"
            )
        # The serial figure only has to be shown; it is "as expected" when it is the
        # serial ideal plus overhead, i.e. concurrency 1 really is serial.
        print(
            f"  {verdict(ok and timed.seconds >= expected)}: serial figure shown "
            f"({timed.seconds:.1f} s >= {expected:.1f} s, all passed: {ok})"
        )
        if not ok:
            print("    " + timed.tail().replace("\n", "\n    "))

    if args.timeline:
        print()
        timeline(project, args.concurrency, args.cases)
    if args.profile:
        print()
        profile_in_process(project, args.concurrency, args.cases, args.top)


# -- timeline -------------------------------------------------------------------------

TIMELINE_CONFTEST = r"""
# Written by benchmarks/bench_pytest_concurrency.py --timeline: wall-clock marks of one run.
import atexit, gc, json, os, threading, time

import pytest

_marks = {"conftest imported": time.time()}
_lock = threading.Lock()
_done = []
_gc = {"start": 0.0, "seconds": 0.0, "full": 0}


def _on_gc(phase, info):
    if phase == "start":
        _gc["start"] = time.perf_counter()
    else:
        _gc["seconds"] += time.perf_counter() - _gc["start"]
        _gc["full"] += info["generation"] == 2


gc.callbacks.append(_on_gc)


def _mark(name):
    _marks.setdefault(name, time.time())


def pytest_sessionstart(session):
    _mark("session start")


def pytest_collection_finish(session):
    _mark("collection finished")


def pytest_runtestloop(session):
    # Runs after llmtest's tryfirst hook has submitted every case.
    _mark("all cases submitted")
    try:
        from pytest_llmtest.state import session_key
        futures = list(session.config.stash[session_key].futures.values())
    except Exception:
        return
    def done(_):
        with _lock:
            _done.append(time.time())
    for f in futures:
        f.add_done_callback(done)


def pytest_runtest_logreport(report):
    if report.when == "setup":
        _mark("first item set up (its answer came)")
    _marks["last item reported"] = time.time()


def pytest_sessionfinish(session):
    _mark("session finish")


def _dump():
    _marks["exit (atexit)"] = time.time()
    if _done:
        _marks["first answer"] = min(_done)
        _marks["last answer"] = max(_done)
    with open(os.environ["LLMTEST_BENCH_TIMELINE"], "w") as fh:
        json.dump({"marks": _marks, "gc_seconds": _gc["seconds"], "gc_full": _gc["full"]}, fh)


atexit.register(_dump)
"""


def timeline(project: Path, concurrency: int, cases: int) -> None:
    """One instrumented run: where the wall time goes between spawn and exit."""
    import os

    out = project / "timeline.json"
    conftest = project / "conftest.py"
    conftest.write_text(TIMELINE_CONFTEST)
    os.environ["LLMTEST_BENCH_TIMELINE"] = str(out)
    try:
        write_suite(project, cases)
        spawned = time.time()
        timed = run_suite(project, concurrency)
    finally:
        conftest.unlink()
        os.environ.pop("LLMTEST_BENCH_TIMELINE", None)
    exited = spawned + timed.seconds
    try:
        data = json.loads(out.read_text())
        marks = data["marks"]
    except (OSError, ValueError, KeyError):
        print("timeline: no marks written\n    " + timed.tail().replace("\n", "\n    "))
        return
    marks["process exit"] = exited
    print(f"timeline of one instrumented run ({timed.seconds:.2f} s wall, seconds since spawn):")
    previous = spawned
    for name, when in sorted(marks.items(), key=lambda kv: kv[1]):
        print(f"   {when - spawned:6.2f} s  (+{when - previous:5.2f})  {name}")
        previous = when
    if "last answer" in marks and "all cases submitted" in marks:
        span = marks["last answer"] - marks["all cases submitted"]
        print(f"   engine span, submission to last answer: {span:.2f} s")
    print(
        f"   cyclic GC until atexit: {data['gc_seconds']:.2f} s ({data['gc_full']} full "
        "collections); after atexit comes interpreter shutdown (module teardown)"
    )


# -- profiling ------------------------------------------------------------------------

LAYERS = (
    (
        "SDK client (openai/httpx/pydantic/anyio)",
        (
            "/openai/",
            "/httpx",
            "/httpcore",
            "/h11/",
            "/anyio/",
            "/pydantic",
            "/sniffio/",
            "/distro/",
            "/certifi/",
            "/ssl.py",
        ),
    ),
    ("event loop (asyncio/selectors)", ("/asyncio/", "/selectors.py")),
    ("llmtest engine/adapters", ("/llmtest/engine.py", "/llmtest/adapters/")),
    ("llmtest evaluation/assertions", ("/llmtest/evaluation.py", "/llmtest/assertions/")),
    ("llmtest cases (collection)", ("/llmtest/cases/",)),
    ("llmtest other", ("/llmtest/",)),
    ("pytest_llmtest plugin", ("/pytest_llmtest/",)),
    ("pytest + pluggy", ("/_pytest/", "/pluggy/", "/pytest/")),
)


def _layer(filename: str) -> str:
    for name, needles in LAYERS:
        if any(n in filename for n in needles):
            return name
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    return "other (stdlib, threading, json, re, ...)"


def profile_in_process(project: Path, concurrency: int, cases: int, top: int) -> None:
    """One run via pytest.main() in this process, the main thread and the engine thread
    each under their own cProfile (cProfile only sees the thread that enabled it)."""
    import cProfile
    import os
    import pstats
    import threading

    import pytest

    profiles: dict[str, cProfile.Profile] = {}
    original_run = threading.Thread.run

    def run(self: threading.Thread) -> None:
        if self.name.startswith("llmtest-engine"):
            prof = profiles.setdefault(self.name, cProfile.Profile())
            prof.enable()
            try:
                original_run(self)
            finally:
                prof.disable()
        else:
            original_run(self)

    write_suite(project, cases)
    threading.Thread.run = run  # type: ignore[method-assign]
    cwd = os.getcwd()
    os.chdir(project)
    main_prof = cProfile.Profile()
    started = time.perf_counter()
    try:
        main_prof.enable()
        code = pytest.main(
            [
                "-q",
                "-p",
                "no:cacheprovider",
                "--llm-model",
                "bench",
                "--llm-concurrency",
                str(concurrency),
                str(project / "test_bench.llm.jsonl"),
            ]
        )
        main_prof.disable()
    finally:
        os.chdir(cwd)
        threading.Thread.run = original_run  # type: ignore[method-assign]
    wall = time.perf_counter() - started
    print(
        f"profile: in-process pytest.main, exit {code}, {wall:.2f} s wall under cProfile "
        "(cProfile roughly doubles CPU-bound code; compare shares, not absolutes)"
    )
    for label, prof in [("main thread (pytest)", main_prof), *profiles.items()]:
        stats = pstats.Stats(prof)
        total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
        by_layer: dict[str, float] = {}
        for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            by_layer[_layer(filename)] = by_layer.get(_layer(filename), 0.0) + tottime
        print(f"\n== {label}: {total:.2f} s self time profiled; by layer (self time):")
        for name, secs in sorted(by_layer.items(), key=lambda kv: -kv[1]):
            print(f"   {secs:7.2f} s  {100 * secs / total:5.1f} %  {name}")
        print(f"-- top {top} by cumulative time:")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])  # type: ignore[attr-defined]
        for (filename, line, func), (_cc, nc, tt, ct, _) in rows[:top]:
            short = filename.replace(str(REPO) + "/", "").split("site-packages/")[-1]
            print(f"   cum {ct:7.2f} s  self {tt:6.2f} s  calls {nc:>8}  {short}:{line}({func})")
        print(f"-- top {top} by self time:")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
        for (filename, line, func), (_cc, nc, tt, ct, _) in rows[:top]:
            short = filename.replace(str(REPO) + "/", "").split("site-packages/")[-1]
            print(f"   self {tt:6.2f} s  cum {ct:7.2f} s  calls {nc:>8}  {short}:{line}({func})")


if __name__ == "__main__":
    sys.exit(main())
