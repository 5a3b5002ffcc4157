"""The JSON summary: what a dashboard or script reads instead of grouping attempts itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmtest.reports.json_report import render_json, write_json
from llmtest.results import CaseResult
from tests.reports.builders import RUN_ID, case, repeated, results_file, skipped


def report(tmp_path: Path, *cases: CaseResult) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_json(results_file(tmp_path, *cases)))
    return data


def test_the_report_has_the_run_totals_tags_latency_and_cases(tmp_path: Path) -> None:
    data = report(tmp_path, case("a", tags=["policy"]))
    assert {"run", "totals", "by_tag", "latency", "cases"} <= data.keys()
    assert data["run"]["run_id"] == RUN_ID


def test_totals_count_cases_and_sum_usage(tmp_path: Path) -> None:
    totals = report(tmp_path, case("a"), case("b", "fail"), case("c", "error"))["totals"]
    assert totals == {
        "cases": 3,
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "skipped": 0,
        "pass_rate": 1 / 3,
        "attempts": 3,
        "attempts_run": 3,
        "retries": 0,
        "usage": {"input_tokens": 30, "output_tokens": 60},
        "cost_usd": 0.003,
    }


def test_a_repeated_case_is_one_entry_with_its_attempt_counts(tmp_path: Path) -> None:
    [entry] = report(tmp_path, *repeated("a", ["pass", "fail", "pass"], min_pass_rate=0.5))["cases"]
    assert (entry["status"], entry["attempts"], entry["passed_attempts"]) == ("pass", 3, 2)
    assert entry["min_pass_rate"] == 0.5


def test_attempts_run_leave_out_skipped_records_which_attempts_still_counts(
    tmp_path: Path,
) -> None:
    data = report(
        tmp_path, *repeated("a", ["pass", "fail", "pass"], min_pass_rate=0.5), skipped("b")
    )
    assert (data["totals"]["attempts"], data["totals"]["attempts_run"]) == (4, 3)
    counts = {
        entry["case_id"]: (entry["attempts"], entry["attempts_run"]) for entry in data["cases"]
    }
    assert counts == {"a": (3, 3), "b": (1, 0)}


def test_a_failed_case_lists_its_failed_assertions(tmp_path: Path) -> None:
    [entry] = report(tmp_path, case("a", "fail"))["cases"]
    assert entry["failed_assertions"] == [
        {"type": "contains", "message": "expected '30 days'", "score": None, "attempts": 1}
    ]


def test_latency_has_the_percentiles_in_milliseconds(tmp_path: Path) -> None:
    latency = report(tmp_path, case("a", latency_ms=100.0), case("b", latency_ms=300.0))["latency"]
    assert (latency["count"], latency["p50_ms"], latency["max_ms"]) == (2, 200.0, 300.0)


def test_unknown_figures_are_null_not_zero(tmp_path: Path) -> None:
    data = report(tmp_path, case("a", "error", cost_usd=None))
    assert (data["totals"]["cost_usd"], data["latency"]["p50_ms"]) == (None, None)


def test_write_json_writes_the_same_text(tmp_path: Path) -> None:
    results = results_file(tmp_path, case("a"))
    write_json(results, tmp_path / "out" / "summary.json")
    assert (tmp_path / "out" / "summary.json").read_text(encoding="utf-8") == render_json(results)
