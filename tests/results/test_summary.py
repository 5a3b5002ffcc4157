"""Grouping a results file's attempts into cases, and the totals every report and the
comparison show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmtest.results import load_results
from llmtest.results.summary import summarize
from tests.reports.builders import case, check, repeated, results_file


def test_a_repeated_case_is_one_case_with_every_attempt(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, *repeated("leak", ["pass", "pass", "pass"])))
    assert [(c.case_id, len(c.attempts)) for c in summary.cases] == [("leak", 3)]


def test_a_repeated_case_passes_when_its_pass_rate_reaches_min_pass_rate(tmp_path: Path) -> None:
    attempts = repeated("leak", ["pass", "fail", "pass"], min_pass_rate=0.6)
    assert summarize(results_file(tmp_path, *attempts)).cases[0].status == "pass"


def test_a_record_without_min_pass_rate_needs_every_attempt_to_pass(tmp_path: Path) -> None:
    path = results_file(tmp_path, *repeated("leak", ["pass", "fail"], min_pass_rate=0.5)).path
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for record in lines[1:]:
        del record["min_pass_rate"]  # as an older llmtest wrote it
    path.write_text("".join(json.dumps(record) + "\n" for record in lines))
    summary = summarize(load_results(path))
    assert summary.cases[0].min_pass_rate == 1.0
    assert summary.cases[0].status == "fail"


def test_a_case_whose_attempts_were_all_skipped_is_skipped(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, case("a", "skip", error="not yet")))
    (skipped,) = summary.cases
    assert skipped.status == "skip"
    assert (skipped.skip_reason, skipped.errors) == ("not yet", [])  # a reason, not an error


def test_errors_stay_in_the_pass_rate_and_skips_do_not(tmp_path: Path) -> None:
    summary = summarize(
        results_file(tmp_path, case("a"), case("b", "error"), case("c", "skip"), case("d", "fail"))
    )
    counts = summary.counts
    assert (counts.cases, counts.passed, counts.failed, counts.errors, counts.skipped) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert counts.pass_rate == pytest.approx(1 / 3)


def test_pass_rate_by_tag_counts_each_case_under_each_of_its_tags(tmp_path: Path) -> None:
    summary = summarize(
        results_file(
            tmp_path,
            case("a", tags=["policy", "critical"]),
            case("b", "fail", tags=["policy"]),
            case("c"),
        )
    )
    rates = {t.tag: (t.counts.cases, t.counts.pass_rate) for t in summary.by_tag}
    assert rates == {"critical": (1, 1.0), "policy": (2, 0.5)}


def test_latency_percentiles_cover_every_attempt_that_has_a_latency(tmp_path: Path) -> None:
    summary = summarize(
        results_file(
            tmp_path,
            *[case(f"c{ms}", latency_ms=float(ms)) for ms in (100, 200, 300, 400)],
            case("down", "error"),
        )
    )
    assert summary.latency.values_ms == (100.0, 200.0, 300.0, 400.0)
    assert summary.latency.p50 == 250.0
    assert summary.latency.p95 == pytest.approx(385.0)


def test_tokens_cost_and_retries_are_summed_over_attempts(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, *repeated("a", ["pass", "pass"], retries=2)))
    assert (summary.input_tokens, summary.output_tokens, summary.retries) == (20, 40, 4)
    assert summary.cost_usd == pytest.approx(0.002)


def test_an_unknown_cost_is_none_not_zero(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, case("a", cost_usd=None)))
    assert summary.cost_usd is None


def test_the_case_score_is_the_mean_of_every_assertion_score(tmp_path: Path) -> None:
    checks = [check(True, type="similarity", score=0.5), check(True, type="similarity", score=1.0)]
    summary = summarize(results_file(tmp_path, case("a", assertions=checks)))
    assert summary.cases[0].score == 0.75


def test_measured_figures_are_not_part_of_the_case_score(tmp_path: Path) -> None:
    checks = [
        check(True, type="similarity", score=0.5),
        check(True, type="length", score=8),
        check(True, type="tokens", score=120),
        check(True, type="latency_ms", score=950.0),
        check(True, type="cost", score=0.002),
    ]
    summary = summarize(results_file(tmp_path, case("a", assertions=checks)))
    assert summary.cases[0].score == 0.5


def test_the_same_failure_in_several_attempts_is_listed_once_with_a_count(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, *repeated("a", ["fail", "fail", "pass"])))
    [failure] = summary.cases[0].failed_assertions
    assert (failure.message, failure.attempts) == ("expected '30 days'", 2)


def test_the_same_case_run_against_two_models_is_two_cases(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, case("a"), case("a", model="other")))
    assert [c.model for c in summary.cases] == ["support-bot", "other"]


def test_a_file_without_a_header_takes_its_run_id_from_the_records(tmp_path: Path) -> None:
    path = results_file(tmp_path, case("a")).path
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
    summary = summarize(load_results(path))
    assert (summary.header, summary.run_id, summary.model_label) == (
        None,
        "20250101T000000Z-feedbeef",
        "support-bot",
    )
