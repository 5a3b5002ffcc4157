"""``llmtest run`` throughput, latency-bound wall time and memory (the runner's targets).

Targets (issue "Runner"):
  1. 5,000 cases against a server answering instantly: at least 1,500 cases/s of framework
     throughput on this 2-core machine.
  2. 5,000 cases at 100 ms per answer with --concurrency 128 finish within 1.2x the ideal
     ceil(5000/128) x 0.1 s.
  3. Peak RSS under 300 MB.

Each target is measured for llmtest's own work and through the official openai SDK:

- framework: the ``echo:`` adapter (instant) and a ``callable:`` app that answers after
  100 ms (``await asyncio.sleep``): planning, the engine, evaluation and streaming every
  record to disk, with no HTTP client in the way;
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    fake_server,
    machine,
    run_timed,
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
        "llmtest.cli",
        "run",
        "tests",
        "--model",
        model,
        "--concurrency",
        str(concurrency),
        "--out",
        out,
        "--no-history",
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


def sdk_alone(port: int, cases: int, concurrency: int) -> float:
    """Wall seconds for the SDK alone, spawn to exit, like the llmtest runs."""
    script = Path(__file__).resolve().parent / "_sdk_alone.py"
    timed = run_timed([PYTHON, str(script), str(port), str(cases), str(concurrency)], REPO)
    if timed.returncode != 0:
        raise SystemExit(f"the SDK-alone run failed ({timed.returncode}):\n{timed.tail()}")
    return timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    n, delay_ms = args.cases, args.delay * 1000
    with tempfile.TemporaryDirectory(prefix="llmtest-bench-run-") as tmp:
        root = Path(tmp)
        print(f"bench_run  ({machine()})")
        print("  " + use_bytecode_cache(True, root / "pycache"))
        rows: list[tuple[str, float, float]] = []

        local = root / "local"
        write_project(local, n, None, args.delay)
        timed_run(local, "echo:", args.concurrency, "warm.jsonl")
        echo_s, rss, _ = timed_run(local, "echo:", args.concurrency, "echo.jsonl")
        rows.append(("llmtest, echo: (instant)", echo_s, rss))
        app_s, rss, _ = timed_run(local, "app", args.concurrency, "app.jsonl")
        rows.append((f"llmtest, callable app ({delay_ms:.0f} ms)", app_s, rss))

        with fake_server(0.0) as port:
            instant = root / "instant"
            write_project(instant, n, port)
            sdk_instant_s, rss, _ = timed_run(instant, "bench", args.concurrency, "r.jsonl")
            rows.append(("llmtest, openai SDK, instant server", sdk_instant_s, rss))
            floor_instant_s = sdk_alone(port, n, args.concurrency)
            rows.append(("openai SDK alone, instant server", floor_instant_s, float("nan")))

        with fake_server(args.delay) as port:
            slow = root / "slow"
            write_project(slow, n, port)
            sdk_slow_s, rss, _ = timed_run(slow, "bench", args.concurrency, "r.jsonl")
            rows.append((f"llmtest, openai SDK, {delay_ms:.0f} ms server", sdk_slow_s, rss))
            floor_slow_s = sdk_alone(port, n, args.concurrency)
            rows.append((f"openai SDK alone, {delay_ms:.0f} ms server", floor_slow_s, float("nan")))

    print(
        f"  {n} cases, --concurrency {args.concurrency} (wall time of the whole command, "
        "start-up included)"
    )
    for name, seconds, rss in rows:
        memory = f"peak RSS {rss:5.0f} MB" if rss == rss else ""
        print(f"    {name:<38} {seconds:6.2f} s  {n / seconds:7.0f} cases/s  {memory}")

    echo_rate = n / echo_s
    overhead_ms = (sdk_instant_s - floor_instant_s) / n * 1000
    print(f"  1. framework throughput, instant answers: target >= {TARGET_THROUGHPUT:.0f} cases/s")
    ok = echo_rate >= TARGET_THROUGHPUT
    print(f"     {verdict(ok)}: llmtest with echo: {echo_rate:.0f} cases/s")
    print(
        f"     through the openai SDK: {n / sdk_instant_s:.0f} cases/s; the SDK alone "
        f"{n / floor_instant_s:.0f}/s; llmtest adds {overhead_ms:.2f} ms per case"
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
    peak = max(r[2] for r in rows if r[2] == r[2])
    print(f"  3. peak RSS target < {TARGET_RSS_MB:.0f} MB, measured {peak:.0f} MB")
    print(f"     {verdict(peak < TARGET_RSS_MB)}")


if __name__ == "__main__":
    main()
