"""The figures every output derives from the records, each pinned once: the terminal, the
reports, the history and the comparison all call these functions."""

from __future__ import annotations

import pytest

from llmtest.results.figures import case_verdict, meets_pass_rate, percentile


def test_percentiles_interpolate_between_ranks_as_numpy_does() -> None:
    assert percentile([20, 10, 11], 50) == 11
    assert percentile([20, 10, 11], 95) == pytest.approx(19.1)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([4, 1, 3, 2], 95) == pytest.approx(3.85)


def test_the_percentiles_of_one_value_are_that_value() -> None:
    assert (percentile([7.5], 50), percentile([7.5], 95)) == (7.5, 7.5)


def test_the_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_two_of_three_reach_a_min_pass_rate_written_as_a_rounded_two_thirds() -> None:
    assert meets_pass_rate(2, 3, 0.6667)
    assert case_verdict(["pass", "pass", "fail"], 0.6667) == "pass"


def test_a_pass_rate_short_of_the_minimum_by_more_than_rounding_fails() -> None:
    assert not meets_pass_rate(2, 3, 0.67)
    assert case_verdict(["pass", "fail"], 0.6) == "fail"


def test_by_default_every_attempt_must_pass() -> None:
    assert case_verdict(["pass", "pass"], 1.0) == "pass"
    assert case_verdict(["pass", "fail"], 1.0) == "fail"


def test_any_errored_attempt_makes_the_case_an_error() -> None:
    assert case_verdict(["pass", "error", "pass"], 0.5) == "error"


def test_a_case_whose_attempts_were_all_skipped_is_skipped() -> None:
    assert case_verdict(["skip", "skip"], 1.0) == "skip"


def test_skipped_attempts_are_not_in_the_pass_rate() -> None:
    assert case_verdict(["pass", "skip"], 1.0) == "pass"
