"""similarity: close enough to a reference answer, by a rapidfuzz measure."""

from __future__ import annotations

import pytest

from llmtest.assertions import assert_similar, similarity_score
from llmtest.assertions.similarity import Method
from llmtest.errors import AssertionSpecError, LLMAssertionError
from tests.assertions.helpers import run, spec_error

REFERENCE = "Items can be returned within 30 days."


def test_similarity_passes_above_the_default_minimum() -> None:
    result = run("similarity", REFERENCE, "Items can be returned within 30 days")
    assert result.passed
    assert result.score == pytest.approx(0.9863, abs=1e-4)
    assert result.message == (
        "similarity 0.986 meets the minimum 0.8 "
        "(method ratio; reference: 'Items can be returned within 30 days.')"
    )


def test_similarity_failure_reports_score_threshold_method_and_output() -> None:
    result = run("similarity", {"reference": REFERENCE, "min": 0.6}, "We ship worldwide.")
    assert not result.passed
    assert result.message == (
        "similarity 0.327 is below the minimum 0.6 "
        "(method ratio; reference: 'Items can be returned within 30 days.'); "
        "got: 'We ship worldwide.'"
    )


def test_similarity_keeps_the_best_of_several_references() -> None:
    args = {"reference": ["We ship worldwide.", REFERENCE], "min": 0.9}
    result = run("similarity", args, "Items may be returned within 30 days.")
    assert result.message == (
        "similarity 0.945 meets the minimum 0.9 "
        "(method ratio; closest reference: 'Items can be returned within 30 days.')"
    )


@pytest.mark.parametrize(
    ("method", "score"),
    [("ratio", 2 / 3), ("partial_ratio", 1.0), ("token_set_ratio", 1.0)],
)
def test_similarity_methods_are_normalised_to_zero_to_one(method: Method, score: float) -> None:
    assert similarity_score("30 days", "within 30 days", method) == pytest.approx(score)


def test_similarity_method_is_chosen_in_the_mapping_form() -> None:
    args = {"reference": "30 days", "method": "partial_ratio", "min": 1}
    assert run("similarity", args, "Returns are accepted within 30 days.").passed


def test_a_score_just_below_the_minimum_never_reads_as_the_minimum() -> None:
    result = run("similarity", {"reference": "a" * 1000, "min": 0.8}, "a" * 666)
    assert result.score is not None and result.score < 0.8
    assert result.message.startswith("similarity 0.799 is below the minimum 0.8 ")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (5, "expects a reference string or a mapping with 'reference', got 5"),
        ("", "expects a reference string or a non-empty list of them, got ''"),
        (
            {"min": 0.5},
            "expects a reference string or a mapping with 'reference', got {'min': 0.5}",
        ),
        (
            {"reference": []},
            "expects 'reference' to be a reference string or a non-empty list of them, got []",
        ),
        ({"reference": "a", "min": 80}, "expects 'min' to be a number between 0 and 1, got 80"),
        ({"reference": "a", "min": True}, "expects 'min' to be a number between 0 and 1, got True"),
        (
            {"reference": "a", "method": "levenshtein"},
            "expects 'method' to be one of 'ratio', 'partial_ratio', 'token_set_ratio', "
            "got 'levenshtein'",
        ),
    ],
)
def test_similarity_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("similarity", args) == reason


def test_assert_similar_raises_the_case_file_message() -> None:
    assert assert_similar("Items can be returned within 30 days", REFERENCE).passed
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_similar("We ship worldwide.", REFERENCE, min=0.6)
    expected = run("similarity", {"reference": REFERENCE, "min": 0.6}, "We ship worldwide.")
    assert str(excinfo.value) == expected.message


def test_assert_similar_checks_its_arguments() -> None:
    with pytest.raises(
        AssertionSpecError, match=r"^expects 'min' to be a number between 0 and 1, got 2$"
    ):
        assert_similar("x", "x", min=2)
