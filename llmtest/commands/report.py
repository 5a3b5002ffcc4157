"""``llmtest report``: turn a results file into JUnit XML, Markdown, JSON or HTML, so CI can
publish a run that has already finished (or was merged from shards)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from llmtest.errors import LLMTestError
from llmtest.reports import render_html, render_json, render_junit, render_markdown
from llmtest.reports._files import write_report
from llmtest.results.jsonl import ResultsFile, load_results

STDOUT = "-"

_RENDERERS: dict[str, Callable[[ResultsFile], str]] = {
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
    "json": render_json,
}


SUMMARY = "write reports (JUnit XML, Markdown, HTML, JSON) from a results file"
DESCRIPTION = (
    "Write reports from a results file. With no output option, print the Markdown summary. "
    "PATH '-' writes to standard output."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, metavar="RESULTS.jsonl")
    parser.add_argument("--junit", metavar="PATH", help="JUnit XML for CI test dashboards")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY",
    )
    parser.add_argument("--html", metavar="PATH", help="one self-contained HTML page")
    parser.add_argument("--json", metavar="PATH", help="a machine-readable summary")


def run(args: argparse.Namespace) -> int:
    results = _load(args.results)
    wanted = [(kind, getattr(args, kind)) for kind in _RENDERERS if getattr(args, kind)]
    for kind, target in wanted or [("markdown", STDOUT)]:
        text = _RENDERERS[kind](results)
        if target == STDOUT:
            sys.stdout.write(text)
        else:
            write_report(Path(target), text)
    return 0


def _load(path: Path) -> ResultsFile:
    results = load_results(path)
    if not results.headers and not results.cases:
        raise LLMTestError(f"{path} has no run header and no case records; is it a results file?")
    return results
