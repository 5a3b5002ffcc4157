"""``llmtest compare`` on two 10,000-case results files.

Target (issue "Canary comparison"): comparing two 10,000-case results files takes under
2 s: reading both files, pairing, statistics, drift, the gate, and the Markdown and JSON
reports. Timed in-process (best of 3) and as the whole command in a subprocess
(interpreter start-up included, as a user sees it).

Run from the repository root:  .venv/bin/python benchmarks/bench_compare.py
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import PYTHON, REPO, machine, run_timed, verdict

from llmtest.assertions.base import AssertionResult
from llmtest.compare import compare_results, evaluate_gate
from llmtest.compare.gate import GatePolicy
from llmtest.compare.report import render_json, render_markdown
from llmtest.results import CaseResult, ResultWriter, RunHeader, load_results

TARGET_SECONDS = 2.0
WORDS = [
    "the",
    "refund",
    "window",
    "is",
    "thirty",
    "days",
    "from",
    "delivery",
    "unless",
    "the",
    "item",
    "was",
    "damaged",
]


def answer(rng: random.Random, index: int) -> str:
    if index % 10 == 0:
        text = " ".join(rng.choices(WORDS, k=8))
        return f'{{"answer": "{text}", "confidence": {rng.random():.2f}}}'
    return " ".join(rng.choices(WORDS, k=rng.randint(20, 60)))


def write_run(path: Path, model: str, cases: int, seed: int, fail_rate: float) -> None:
    rng = random.Random(seed)
    with ResultWriter(path) as writer:
        writer.write_header(
            RunHeader(f"run-{model}", {"name": model}, {"tests/bench.llm.yaml": "x"})
        )
        for i in range(cases):
            passed = rng.random() >= fail_rate
            writer.write(
                CaseResult(
                    run_id=f"run-{model}",
                    suite="tests/bench.llm.yaml",
                    case_id=f"case-{i}",
                    case_hash=f"h{i}",
                    model=model,
                    attempt=0,
                    status="pass" if passed else "fail",
                    assertions=(
                        AssertionResult("contains", passed, None, "ok" if passed else "missing"),
                    ),
                    output=answer(rng, i),
                    latency_ms=rng.lognormvariate(6, 0.5),
                    input_tokens=rng.randint(50, 500),
                    output_tokens=rng.randint(20, 200),
                    cost_usd=rng.random() / 1000,
                    tags=("critical",) if i % 50 == 0 else ("general",),
                    error=None,
                    prompt=f"question {i}",
                )
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    print(f"bench_compare: {args.cases:,} cases per side; {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        base, cand = Path(folder) / "base.jsonl", Path(folder) / "cand.jsonl"
        write_run(base, "baseline", args.cases, 1, 0.05)
        write_run(cand, "candidate", args.cases, 2, 0.06)
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            comparison = compare_results(load_results(base), load_results(cand))
            gate = evaluate_gate(comparison, GatePolicy(max_regressions=0, max_cost_ratio=1.5))
            markdown = render_markdown(comparison, gate)
            render_json(comparison, gate)
            timings.append(time.perf_counter() - start)
        best = min(timings)
        print(
            f"  in-process: best {best:.2f} s of 3 ({', '.join(f'{t:.2f}' for t in timings)}); "
            f"{len(comparison.regressions)} regressions, {len(comparison.fixes)} fixes, "
            f"markdown {len(markdown):,} chars"
        )
        script = (
            "import sys; from llmtest.commands import main as cli; "
            "cli.COMMANDS = (*cli.COMMANDS, 'compare') if 'compare' not in cli.COMMANDS "
            "else cli.COMMANDS; sys.exit(cli.main(sys.argv[1:]))"
        )
        md = Path(folder) / "cmp.md"
        js = Path(folder) / "cmp.json"
        timed = run_timed(
            [
                PYTHON,
                "-c",
                script,
                "compare",
                str(base),
                str(cand),
                "--markdown",
                str(md),
                "--json",
                str(js),
            ],
            REPO,
        )
        print(f"  whole command (subprocess, exit {timed.returncode}): {timed.seconds:.2f} s")
        ok = best < TARGET_SECONDS and timed.seconds < TARGET_SECONDS
        print(
            f"compare 2 x {args.cases:,} cases: {best:.2f} s in-process, {timed.seconds:.2f} s "
            f"command vs target < {TARGET_SECONDS:.1f} s: {verdict(ok)}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
