"""``llmtest run`` throughput, latency-bound wall time and memory (the runner's targets).

Targets (issue "Runner"):
  1. 5,000 cases against a server answering instantly: at least 1,500 cases/s of framework
     throughput on this 2-core machine.
  2. 5,000 cases at 100 ms per answer with --concurrency 128 finish within 1.2x the ideal
     ceil(5000/128) x 0.1 s.
  3. Peak RSS under 300 MB.

Framework throughput is measured two ways, and both are printed: with the ``echo:`` adapter
(llmtest's own work: planning, engine, evaluation, streaming every record to disk) and with
the official OpenAI SDK against the local fake server as its own process (what a user of the
openai adapter gets; the SDK's own CPU per request bounds it).

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

from _common import PYTHON, fake_server, machine, run_timed, use_bytecode_cache, verdict

TARGET_THROUGHPUT = 1500.0
TARGET_RATIO = 1.2
TARGET_RSS_MB = 300.0


def write_project(folder: Path, cases: int, port: int | None) -> None:
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    text = "[tool.llmtest]\n"
    if port is not None:
        text += (
            '\n[tool.llmtest.models.bench]\nadapter = "openai"\nmodel = "bench-model"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\n'
        )
    (folder / "pyproject.toml").write_text(text)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmtest-bench-run-") as tmp:
        root = Path(tmp)
        print(f"bench_run  ({machine()})")
        print("  " + use_bytecode_cache(True, root / "pycache"))
        rows = []

        echo = root / "echo"
        write_project(echo, args.cases, None)
        timed_run(echo, "echo:", args.concurrency, "warm.jsonl")
        seconds, rss, _ = timed_run(echo, "echo:", args.concurrency, "r.jsonl")
        echo_rate = args.cases / seconds
        rows.append(("echo: (llmtest's own work)", seconds, rss))

        with fake_server(0.0) as port:
            instant = root / "instant"
            write_project(instant, args.cases, port)
            seconds, rss_sdk, _ = timed_run(instant, "bench", args.concurrency, "r.jsonl")
        sdk_rate = args.cases / seconds
        rows.append(("openai SDK, instant server", seconds, rss_sdk))

        with fake_server(args.delay) as port:
            slow = root / "slow"
            write_project(slow, args.cases, port)
            slow_seconds, rss_slow, _ = timed_run(slow, "bench", args.concurrency, "r.jsonl")
        rows.append((f"openai SDK, {args.delay * 1000:.0f} ms server", slow_seconds, rss_slow))

    print(
        f"  {args.cases} cases, --concurrency {args.concurrency} (wall time of the whole "
        "command, start-up included)"
    )
    for name, seconds, rss in rows:
        print(
            f"    {name:<32} {seconds:6.2f} s  {args.cases / seconds:7.0f} cases/s  "
            f"peak RSS {rss:5.0f} MB"
        )
    ideal = math.ceil(args.cases / args.concurrency) * args.delay
    peak = max(r[2] for r in rows)
    print(
        f"  1. throughput target >= {TARGET_THROUGHPUT:.0f} cases/s: echo {echo_rate:.0f}, "
        f"openai SDK {sdk_rate:.0f}"
    )
    print(
        f"     {verdict(echo_rate >= TARGET_THROUGHPUT)}: framework (echo) {echo_rate:.0f} cases/s"
    )
    print(
        f"     {verdict(sdk_rate >= TARGET_THROUGHPUT)}: through the openai SDK "
        f"{sdk_rate:.0f} cases/s"
    )
    print(
        f"  2. {args.delay * 1000:.0f} ms server: ideal {ideal:.2f} s, target <= "
        f"{TARGET_RATIO * ideal:.2f} s, measured {slow_seconds:.2f} s "
        f"({slow_seconds / ideal:.2f} x ideal)"
    )
    print(f"     {verdict(slow_seconds <= TARGET_RATIO * ideal)}")
    print(f"  3. peak RSS target < {TARGET_RSS_MB:.0f} MB, measured {peak:.0f} MB")
    print(f"     {verdict(peak < TARGET_RSS_MB)}")


if __name__ == "__main__":
    main()
