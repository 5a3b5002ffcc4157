"""``llmtest run`` throughput, latency-bound wall time and memory (the runner's targets).

Targets (issue "Runner"):
  1. 5,000 cases against a server answering instantly: at least 1,500 cases/s of framework
     throughput on this 2-core machine.
  2. 5,000 cases at 100 ms per answer with --concurrency 128 finish within 1.2x the ideal
     ceil(5000/128) x 0.1 s.
  3. Peak RSS under 300 MB.

Each target is measured for llmtest's own work and through the official openai SDK:

- framework: the ``echo:`` adapter (instant) and a ``callable:`` app that answers after
  100 ms (``await asyncio.sleep``): loading the cases, planning, the engine, evaluation,
  streaming every record to disk and storing the run in the history database (as a user's
  run does by default), with no HTTP client in the way;
- openai SDK: the ``openai`` adapter against the local fake server (its own process), next
  to the SDK alone: benchmarks/_sdk_alone.py makes the same calls with the same client
  setup and nothing else, the floor for any framework on this machine. The difference
  between the two is llmtest's overhead per case through the SDK.

Run from the repository root:  .venv/bin/python benchmarks/bench_run.py
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    fake_server,
    machine,
    median,
    run_timed,
    sdk_alone,
    use_bytecode_cache,
    verdict,
)

TARGET_THROUGHPUT = 1500.0
TARGET_RATIO = 1.2
TARGET_RSS_MB = 300.0


APP = """import asyncio


async def answer(prompt: str) -> str:
    await asyncio.sleep({delay})
    return prompt
"""


def write_project(folder: Path, cases: int, port: int | None, app_delay: float = 0.1) -> None:
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    text = '[tool.llmtest]\n\n[tool.llmtest.models.app]\nadapter = "callable"\n'
    text += 'model = "bench_app:answer"\n'
    if port is not None:
        text += (
            '\n[tool.llmtest.models.bench]\nadapter = "openai"\nmodel = "bench-model"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\n'
        )
    (folder / "pyproject.toml").write_text(text)
    (folder / "bench_app.py").write_text(APP.format(delay=app_delay))
    with (folder / "tests" / "test_bench.llm.jsonl").open("w") as fh:
        for i in range(cases):
            case = {"id": f"c{i}", "prompt": f"question {i}", "assert": [{"contains": "question"}]}
            fh.write(json.dumps(case) + "\n")


def timed_run(folder: Path, model: str, concurrency: int, out: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB (GNU time), and the run's output."""
    cmd = [
        "/usr/bin/time",
        "-f",
        "RSS_KB=%M",
        PYTHON,
        "-m",
        "llmtest.commands.main",
        "run",
        "tests",
        "--model",
        model,
        "--concurrency",
        str(concurrency),
        "--out",
        out,
        "--progress",
        "none",
        "--cache",
        "off",
    ]
    timed = run_timed(cmd, folder)
    if timed.returncode != 0:
        raise SystemExit(f"run failed ({timed.returncode}):\n{timed.tail()}")
    rss = re.search(r"RSS_KB=(\d+)", timed.stderr)
    return timed.seconds, (int(rss.group(1)) / 1024 if rss else float("nan")), timed.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each row (median)")
    args = parser.parse_args()
    n, delay_ms, c = args.cases, args.delay * 1000, args.concurrency
    rows: dict[str, tuple[list[float], list[float]]] = {}

    def measure(name: str, timed: Callable[[], tuple[float, float]]) -> None:
        seconds, rss = rows.setdefault(name, ([], []))
        figures = timed()
        seconds.append(figures[0])
        rss.append(figures[1])

    def llmtest(folder: Path, model: str) -> Callable[[], tuple[float, float]]:
        return lambda: timed_run(folder, model, c, "r.jsonl")[:2]

    with tempfile.TemporaryDirectory(prefix="llmtest-bench-run-") as tmp:
        root = Path(tmp)
        print(f"bench_run  ({machine()})")
        print("  " + use_bytecode_cache(True, root / "pycache"))

        local = root / "local"
        write_project(local, n, None, args.delay)
        timed_run(local, "echo:", c, "warm.jsonl")
        for _ in range(args.runs):
            measure("llmtest, echo: (instant)", llmtest(local, "echo:"))
            measure(f"llmtest, callable app ({delay_ms:.0f} ms)", llmtest(local, "app"))

        for delay, label in ((0.0, "instant server"), (args.delay, f"{delay_ms:.0f} ms server")):
            with fake_server(delay) as port:
                project = root / f"server-{delay}"
                write_project(project, n, port)
                for _ in range(args.runs):
                    # Side by side, so that both see the machine as it is at that minute.
                    measure(f"llmtest, openai SDK, {label}", llmtest(project, "bench"))

                    def alone(port: int = port) -> tuple[float, float]:
                        return sdk_alone(port, n, c), float("nan")

                    measure(f"openai SDK alone, {label}", alone)

    print(
        f"  {n} cases, --concurrency {c}, median of {args.runs} runs (wall time of the whole "
        "command, start-up included)"
    )
    figures = {}
    for name, (seconds, rss) in rows.items():
        figures[name] = median(seconds)
        memory = f"peak RSS {max(rss):5.0f} MB" if rss[0] == rss[0] else ""
        runs = ", ".join(f"{s:.2f}" for s in seconds)
        print(
            f"    {name:<38} {figures[name]:6.2f} s  {n / figures[name]:7.0f} cases/s  "
            f"{memory:<18} (runs: {runs})"
        )
    echo_s, app_s = (
        figures["llmtest, echo: (instant)"],
        figures[f"llmtest, callable app ({delay_ms:.0f} ms)"],
    )
    sdk_instant_s = figures["llmtest, openai SDK, instant server"]
    floor_instant_s = figures["openai SDK alone, instant server"]
    sdk_slow_s = figures[f"llmtest, openai SDK, {delay_ms:.0f} ms server"]
    floor_slow_s = figures[f"openai SDK alone, {delay_ms:.0f} ms server"]

    echo_rate = n / echo_s
    overhead_ms = (sdk_instant_s - floor_instant_s) / n * 1000
    print(f"  1. framework throughput, instant answers: target >= {TARGET_THROUGHPUT:.0f} cases/s")
    ok = echo_rate >= TARGET_THROUGHPUT
    print(f"     {verdict(ok)}: llmtest with echo: {echo_rate:.0f} cases/s")
    print(
        f"     through the openai SDK: {n / sdk_instant_s:.0f} cases/s; the SDK alone "
        f"{n / floor_instant_s:.0f}/s; llmtest adds {overhead_ms:.2f} ms per case"
        + (
            f" (its own throughput beside the SDK: {1000 / overhead_ms:.0f} cases/s)"
            if overhead_ms > 0
            else ""
        )
    )

    ideal = math.ceil(n / args.concurrency) * args.delay
    target = TARGET_RATIO * ideal
    print(
        f"  2. {delay_ms:.0f} ms answers @ {args.concurrency}: ideal {ideal:.2f} s, "
        f"target <= {target:.2f} s"
    )
    print(
        f"     {verdict(app_s <= target)}: llmtest with a {delay_ms:.0f} ms callable app "
        f"{app_s:.2f} s ({app_s / ideal:.2f} x ideal)"
    )
    print(
        f"     {verdict(sdk_slow_s <= target)}: through the openai SDK {sdk_slow_s:.2f} s "
        f"({sdk_slow_s / ideal:.2f} x ideal); the SDK alone {floor_slow_s:.2f} s "
        f"({floor_slow_s / ideal:.2f} x ideal)"
    )
    peak = max(max(rss) for _, rss in rows.values() if rss[0] == rss[0])
    print(f"  3. peak RSS target < {TARGET_RSS_MB:.0f} MB, measured {peak:.0f} MB")
    print(f"     {verdict(peak < TARGET_RSS_MB)}")


if __name__ == "__main__":
    main()
