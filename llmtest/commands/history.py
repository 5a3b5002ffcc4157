"""``llmtest history``: what the recorded runs say over time, as plain tables for CI logs
(or JSON for scripts)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmtest._text import plural
from llmtest.config.options import DEFAULT_HISTORY, argparse_type, positive_int
from llmtest.results.history import CaseRun, FlakyCase, History, RecordedRun
from llmtest.results.jsonl import load_results

DEFAULT_LIMIT = 20


SUMMARY = "show recorded runs, a case's or suite's record over time, flaky cases"
DESCRIPTION = "Query the run history database. With no option: the latest runs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_HISTORY),
        metavar="PATH",
        help=f"history database (default {DEFAULT_HISTORY})",
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument(
        "--case", metavar="[SUITE::]CASE_ID", help="one case's outcome in each run, newest first"
    )
    view.add_argument("--suite", metavar="SUITE", help="a suite's pass rate in each run")
    view.add_argument(
        "--flaky", action="store_true", help="cases that flipped between pass and fail"
    )
    view.add_argument(
        "--import",
        dest="import_path",
        type=Path,
        metavar="RESULTS",
        help="record a results file (.jsonl) in the database",
    )
    parser.add_argument("--model", metavar="NAME", help="only runs of this model")
    for flag, default, what in (
        ("--window", 10, "--flaky: look at each model's last N runs"),
        ("--min-runs", 3, "--flaky: ignore cases with fewer pass/fail verdicts"),
        ("--min-flips", 2, "--flaky: changes between pass and fail that make a case flaky"),
        ("--limit", DEFAULT_LIMIT, "rows to show"),
    ):
        parser.add_argument(
            flag,
            type=argparse_type(positive_int),
            default=default,
            metavar="N",
            help=f"{what} (default {default})",
        )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    history = History(args.db)
    if args.import_path is not None:
        results = load_results(args.import_path)
        run_ids = history.import_results(results)
        print(f"recorded run {', '.join(run_ids)} from {args.import_path} in {args.db}")
        if results.skipped_lines:
            print(
                f"warning: {args.import_path} ends in a torn line: its run did not finish, "
                "so some of its cases may be missing from the history",
                file=sys.stderr,
            )
        return 0
    if not history.exists():
        print(f"no runs recorded yet ({args.db})")
        return 0
    if args.case is not None:
        suite, separator, case_id = args.case.partition("::")
        rows: Sequence[RecordedRun | CaseRun | FlakyCase] = history.case_history(
            suite if separator else None,
            case_id if separator else args.case,
            model=args.model,
            limit=args.limit,
        )
        empty = f"no records of case {args.case} in {args.db}"
        table = _case_table
    elif args.suite is not None:
        rows = history.suite_history(args.suite, limit=args.limit, model=args.model)
        empty = f"no records of suite {args.suite} in {args.db}"
        table = _runs_table
    elif args.flaky:
        rows = history.flaky_cases(
            model=args.model, min_runs=args.min_runs, window=args.window, min_flips=args.min_flips
        )[: args.limit]
        empty = _no_flaky_cases(history, args)
        table = _flaky_table
    else:
        rows = history.recent_runs(args.limit, model=args.model)
        empty = f"no runs recorded yet ({args.db})"
        table = _runs_table
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
    elif not rows:
        print(empty)
    else:
        print(table(rows))
    return 0


def _runs_table(rows: Sequence[Any]) -> str:
    return format_table(
        ("run", "started", "model", "cases", "pass", "fail", "error", "skip", "pass rate"),
        [
            (
                r.run_id,
                _when(r.started_at),
                r.model or "",
                r.cases,
                r.passed,
                r.failed,
                r.errors,
                r.skipped,
                _percent(r.pass_rate),
            )
            for r in rows
        ],
        right=("cases", "pass", "fail", "error", "skip", "pass rate"),
    )


def _case_table(rows: Sequence[Any]) -> str:
    return format_table(
        (
            "run",
            "started",
            "model",
            "suite",
            "case hash",
            "status",
            "passed",
            "score",
            "ms",
            "error",
        ),
        [
            (
                r.run_id,
                _when(r.started_at),
                r.model or "",
                r.suite,
                r.case_hash[:12],
                r.status,
                "" if r.status == "skip" else f"{r.attempts_passed}/{r.attempts}",
                "" if r.score is None else f"{r.score:.2f}",
                "" if r.latency_ms is None else round(r.latency_ms),
                # a skip record keeps its reason where errors go
                f"skipped: {_excerpt(r.error)}" if r.status == "skip" else _excerpt(r.error),
            )
            for r in rows
        ],
        right=("passed", "score", "ms"),
    )


def _no_flaky_cases(history: History, args: argparse.Namespace) -> str:
    """Why nothing is flaky: the rule, and how close the cases that did flip came to it."""
    rule = (
        f"flaky needs {plural(args.min_runs, 'run')} and {plural(args.min_flips, 'change')} "
        f"between pass and fail, within each model's last {args.window} runs "
        "(--min-runs, --min-flips, --window)"
    )
    flipped = [c for c in history.flip_records(model=args.model, window=args.window) if c.flips]
    if not flipped:
        return f"no flaky cases in {args.db} ({rule})"
    closest = max(flipped, key=lambda c: (c.flips, c.runs))
    cases = "case flipped: it" if len(flipped) == 1 else "cases flipped; the closest"
    return (
        f"no flaky cases in {args.db} yet: {len(flipped)} {cases} has "
        f"{plural(closest.runs, 'run')} and {plural(closest.flips, 'change')} ({rule}); "
        "run again to see whether it keeps flipping"
    )


def _flaky_table(rows: Sequence[Any]) -> str:
    return format_table(
        ("suite", "case", "case hash", "model", "runs", "flips", "pass rate", "last"),
        [
            (
                r.suite,
                r.case_id,
                r.case_hash[:12],
                r.model,
                r.runs,
                r.flips,
                _percent(r.pass_rate),
                r.last_status,
            )
            for r in rows
        ],
        right=("runs", "flips", "pass rate"),
    )


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[str] = ()
) -> str:
    """Columns padded to their widest cell; the ``right`` columns (numbers) right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    numeric = [h in right for h in headers]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = (
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _when(timestamp: str | None) -> str:
    """``2026-05-09T07:35:25.123456+00:00`` as ``2026-05-09 07:35:25``."""
    return (timestamp or "")[:19].replace("T", " ")


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _excerpt(text: str | None, width: int = 60) -> str:
    """The first line of an error, short enough to keep a table's rows on one line."""
    line = (text or "").strip().splitlines()[0] if text and text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
