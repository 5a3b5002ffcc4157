"""Pairing: the same case at the same version, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmtest.errors import LLMTestError
from tests.compare.helpers import compare, pair_files
from tests.reports.builders import case, repeated


def test_cases_pair_by_suite_id_and_hash(tmp_path: Path) -> None:
    result = compare(tmp_path, [case("a"), case("b")], [case("b"), case("a")])
    assert [p.case_id for p in result.pairs] == ["a", "b"]
    assert all(p.baseline.case.model == "support-bot" for p in result.pairs)
    assert all(p.candidate.case.model == "candidate-bot" for p in result.pairs)


def test_one_side_only_and_changed_cases_are_listed_and_never_paired(tmp_path: Path) -> None:
    result = compare(
        tmp_path,
        [case("both"), case("old-only"), case("edited", case_hash="v1")],
        [case("both"), case("new-only"), case("edited", "fail", case_hash="v2")],
    )
    assert [p.case_id for p in result.pairs] == ["both"]
    assert [c.case_id for c in result.pairing.baseline_only] == ["old-only"]
    assert [c.case_id for c in result.pairing.candidate_only] == ["new-only"]
    [changed] = result.pairing.changed
    assert (changed.case_id, changed.baseline_hashes, changed.candidate_hashes) == (
        "edited",
        ("v1",),
        ("v2",),
    )
    assert result.regressions == ()


def test_repeated_cases_compare_their_pass_rates_per_case(tmp_path: Path) -> None:
    result = compare(
        tmp_path,
        repeated("flaky", ["pass"] * 5, min_pass_rate=0.8) + repeated("steady", ["pass"] * 4),
        repeated("flaky", ["pass", "pass", "fail", "fail", "pass"], min_pass_rate=0.8)
        + repeated("steady", ["pass"] * 4),
    )
    flaky = next(p for p in result.pairs if p.case_id == "flaky")
    assert flaky.baseline.case.pass_rate == 1.0
    assert flaky.candidate.case.pass_rate == pytest.approx(0.6)
    assert flaky.pass_rate_delta == pytest.approx(-0.4)
    assert flaky.change == "regression"  # 3/5 is below the case's min_pass_rate of 0.8
    assert [p.case_id for p in result.regressions] == ["flaky"]


def test_a_repeated_case_whose_rate_moves_but_still_passes_is_a_rate_change(
    tmp_path: Path,
) -> None:
    result = compare(
        tmp_path,
        repeated("x", ["pass"] * 5, min_pass_rate=0.6),
        repeated("x", ["pass", "pass", "pass", "fail", "fail"], min_pass_rate=0.6),
    )
    assert result.regressions == ()
    assert [p.case_id for p in result.rate_changes] == ["x"]


def test_an_error_on_either_side_is_undecided_and_stays_in_the_pass_rate(tmp_path: Path) -> None:
    result = compare(
        tmp_path,
        [case("a"), case("b"), case("c", "error")],
        [case("a", "error"), case("b"), case("c")],
    )
    assert [p.case_id for p in result.undecided] == ["a", "c"]
    assert result.regressions == () and result.fixes == ()
    assert result.candidate.overall.rate == pytest.approx(2 / 3)
    assert result.baseline.overall.rate == pytest.approx(2 / 3)


def test_a_run_holding_one_case_for_two_models_is_refused(tmp_path: Path) -> None:
    baseline, candidate = pair_files(tmp_path, [case("a"), case("a", model="other")], [case("a")])
    from llmtest.compare import compare_results

    with pytest.raises(LLMTestError, match="more than one model"):
        compare_results(baseline, candidate)
