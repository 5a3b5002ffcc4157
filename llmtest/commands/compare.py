"""``llmtest compare``: a candidate model's run against the baseline's, and the gate's
verdict as the exit code (0 promote, 1 blocked, 2 cannot decide)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from llmtest.compare.comparison import compare_results
from llmtest.compare.gate import evaluate_gate, load_gate
from llmtest.compare.html import render_html
from llmtest.compare.junit import render_junit
from llmtest.compare.report import render_json, render_markdown, render_terminal
from llmtest.reports._files import write_report
from llmtest.results.jsonl import load_results


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="compare a candidate run with a baseline run and gate the promotion",
        description="Pair the cases of two results files by (suite, case id, case hash), "
        "report regressions, fixes, pass rates, latency, cost and output drift, and apply "
        "the gate ([tool.llmtest.gate] or --gate FILE). Exit 0 = promote, 1 = blocked, "
        "2 = cannot decide (errors, missing data).",
    )
    parser.add_argument("baseline", type=Path, metavar="BASELINE")
    parser.add_argument("candidate", type=Path, metavar="CANDIDATE")
    parser.add_argument(
        "--gate",
        type=Path,
        metavar="FILE",
        help="TOML gate policy: a [tool.llmtest.gate] or [gate] table, or bare keys",
    )
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
    parser.set_defaults(func=run)


def _emit(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        write_report(Path(target), text)


def run(args: argparse.Namespace) -> int:
    policy = load_gate(args.gate)
    comparison = compare_results(load_results(args.baseline), load_results(args.candidate))
    gate = evaluate_gate(comparison, policy)
    if args.markdown:
        _emit(args.markdown, render_markdown(comparison, gate))
    if args.json:
        _emit(args.json, render_json(comparison, gate))
    if args.html:
        write_report(Path(args.html), render_html(comparison, gate))
    if args.junit:
        write_report(Path(args.junit), render_junit(comparison, gate))
    if "-" not in (args.markdown, args.json):
        sys.stdout.write(render_terminal(comparison, gate))
    return gate.exit_code
