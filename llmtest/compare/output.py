"""Writing a comparison's reports where the command line asks for them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmtest.compare.comparison import Comparison
from llmtest.compare.gate import GateResult
from llmtest.compare.html import render_html
from llmtest.compare.junit import render_junit
from llmtest.compare.report import render_json, render_markdown, render_terminal
from llmtest.reports._files import write_report


def emit_reports(comparison: Comparison, gate: GateResult, args: argparse.Namespace) -> None:
    """``--markdown``/``--json`` (``-`` is stdout), ``--html``, ``--junit``; the terminal
    summary unless stdout already carries a report."""
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


def _emit(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        write_report(Path(target), text)
