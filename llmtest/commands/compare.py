"""``llmtest compare``: a candidate model's run against the baseline's, and the gate's
verdict as the exit code (0 promote, 1 blocked, 2 cannot decide)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmtest.cases.loader import load_suite
from llmtest.compare.comparison import compare_results
from llmtest.compare.from_log import log_to_results
from llmtest.compare.gate import evaluate_gate, load_gate
from llmtest.compare.history import known_flaky
from llmtest.compare.output import emit_reports
from llmtest.config.options import DEFAULT_HISTORY
from llmtest.errors import LLMTestError
from llmtest.results.jsonl import ResultsFile, load_results

SUMMARY = "compare a candidate run with a baseline run and gate the promotion"
DESCRIPTION = (
    "Pair the cases of two results files by (suite, case id, case hash), report "
    "regressions, fixes, pass rates, latency, cost and output drift, and apply the gate "
    "([tool.llmtest.gate] or --gate FILE). Exit 0 = promote, 1 = blocked, 2 = cannot decide "
    "(errors, missing data)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", type=Path, metavar="BASELINE", nargs="?")
    parser.add_argument("candidate", type=Path, metavar="CANDIDATE", nargs="?")
    parser.add_argument(
        "--from-log",
        type=Path,
        metavar="LOG",
        help="compare the two sides of a canary log (llmtest.production.router.CanaryRouter "
        "in shadow mode) instead of two results files",
    )
    parser.add_argument(
        "--suite",
        type=Path,
        metavar="SUITE_FILE",
        help="with --from-log: judge each logged answer by the assertions of the suite's case "
        "with the same last user message (default: a side passes unless it errored)",
    )
    parser.add_argument(
        "--gate",
        type=Path,
        metavar="FILE",
        help="TOML gate policy: a [tool.llmtest.gate] or [gate] table, or bare keys",
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=Path(DEFAULT_HISTORY),
        metavar="PATH",
        help="run history that says which regressed cases are known to be flaky with the "
        f"baseline model (default {DEFAULT_HISTORY}, when it exists)",
    )
    parser.add_argument("--no-history", action="store_true", help="do not consult the run history")
    parser.add_argument(
        "--markdown", metavar="PATH", help="write the Markdown report to PATH ('-' for stdout)"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="write the JSON report to PATH ('-' for stdout)"
    )
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    parser.add_argument(
        "--junit", metavar="PATH", help="write JUnit XML: each regression a failing test"
    )


def _inputs(args: argparse.Namespace) -> tuple[ResultsFile, ResultsFile]:
    """The two sides: two results files, or the two halves of a canary log."""
    if args.from_log is None:
        if args.baseline is None or args.candidate is None:
            raise LLMTestError("give BASELINE and CANDIDATE results files, or --from-log LOG")
        if args.suite is not None:
            raise LLMTestError("--suite applies to --from-log only")
        return load_results(args.baseline), load_results(args.candidate)
    if args.baseline is not None or args.candidate is not None:
        raise LLMTestError("--from-log replaces BASELINE and CANDIDATE: give one or the other")
    suite = load_suite(args.suite) if args.suite is not None else None
    converted = log_to_results(args.from_log, suite)
    notes = converted.notes()
    if converted.paired == 0:
        what = (
            f"{args.from_log}: none of its {converted.exchanges} exchanges was answered by both "
            "models, and the comparison needs pairs (both answers to the same request). Log "
            "with CanaryRouter(..., shadow=True) to get them"
        )
        if converted.unmatched and not any(t.exchanges for t in converted.unpaired.values()):
            what = f"{args.from_log}: no paired exchange matches a case of {args.suite}"
        raise LLMTestError("\n".join([what, *notes]))
    for note in notes:
        print(f"llmtest compare: {note}", file=sys.stderr)
    return converted.baseline, converted.candidate


def run(args: argparse.Namespace) -> int:
    policy = load_gate(args.gate)
    comparison = compare_results(*_inputs(args))
    flaky = known_flaky(None if args.no_history else args.history, comparison)
    gate = evaluate_gate(comparison, policy, known_flaky=flaky)
    emit_reports(comparison, gate, args)
    return gate.exit_code
