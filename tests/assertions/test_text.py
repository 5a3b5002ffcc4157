"""Phrases, patterns, exact text and openings of the output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmtest.adapters.base import Response
from llmtest.assertions import (
    assert_contains,
    assert_equals,
    assert_not_contains,
    assert_not_regex,
    assert_regex,
    assert_starts_with,
    check_contains,
    check_not_regex,
    check_regex,
    compile_regex,
)
from llmtest.errors import AssertionSpecError, LLMAssertionError, UndecidedAssertion
from tests.assertions.helpers import build, run, spec_error

REFUND = "Items can be returned within two weeks of purchase."


def test_contains_passes_when_the_phrase_appears() -> None:
    result = run("contains", "30 days", "Items can be returned within 30 days.")
    assert (result.passed, result.score, result.message) == (True, 1.0, "found '30 days'")


def test_contains_names_the_missing_phrase_and_shows_the_output() -> None:
    result = run("contains", ["30 days"], REFUND)
    assert not result.passed
    assert result.message == (
        "expected output to contain '30 days' (missing: '30 days'); "
        "got: 'Items can be returned within two weeks of purchase.'"
    )


def test_contains_scores_the_fraction_of_phrases_found() -> None:
    result = run("contains", ["returned", "30 days", "receipt"], REFUND)
    assert result.score == pytest.approx(1 / 3)
    assert result.message == (
        "expected output to contain all of 'returned', '30 days', 'receipt' "
        "(missing: '30 days', 'receipt'); "
        "got: 'Items can be returned within two weeks of purchase.'"
    )


def test_contains_any_mode_needs_only_one_phrase() -> None:
    result = run("contains", {"values": ["30 days", "two weeks"], "mode": "any"}, REFUND)
    assert (result.passed, result.score, result.message) == (True, 0.5, "found 'two weeks'")


def test_contains_any_mode_fails_when_no_phrase_appears() -> None:
    result = run("contains", {"values": ["30 days", "a month"], "mode": "any"}, REFUND)
    assert result.message == (
        "expected output to contain any of '30 days', 'a month' (missing: '30 days', 'a month'); "
        "got: 'Items can be returned within two weeks of purchase.'"
    )


def test_contains_can_ignore_case() -> None:
    assert run("contains", {"values": "ITEMS", "ignore_case": True}, REFUND).passed
    result = run("contains", {"values": "Days", "ignore_case": True}, REFUND)
    assert result.message.startswith("expected output to contain 'Days', ignoring case (missing")


def test_contains_shows_only_the_start_of_a_long_output() -> None:
    result = run("contains", "30 days", "word " * 100)
    assert result.message == (
        "expected output to contain '30 days' (missing: '30 days'); got: '" + "word " * 32 + "…'"
    )


def test_contains_accepts_a_response_or_its_text_in_python() -> None:
    assert assert_contains(Response(text=REFUND), "two weeks").passed
    assert assert_contains(REFUND, ["two weeks", "purchase"]).score == 1.0


def test_assert_contains_fails_with_the_case_file_message() -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_contains(REFUND, ["30 days"])
    assert str(excinfo.value) == run("contains", ["30 days"], REFUND).message


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (5, "expects a string, a list of strings or a mapping with 'values', got 5"),
        ([], "expects a string or a list of non-empty strings, got []"),
        (["a", 3], "expects a string or a list of non-empty strings, got ['a', 3]"),
        ([""], "expects a string or a list of non-empty strings, got ['']"),
        (
            {"mode": "any"},
            "expects a string, a list of strings or a mapping with 'values', got {'mode': 'any'}",
        ),
        (
            {"values": 7},
            "expects 'values' to be a string or a list of non-empty strings, got 7",
        ),
        (
            {"values": "a", "mode": "some"},
            "expects 'mode' to be one of 'all', 'any', got 'some'",
        ),
        (
            {"values": "a", "ignore_case": "yes"},
            "expects 'ignore_case' to be true or false, got 'yes'",
        ),
        (
            {"values": "a", "ignorecase": True},
            "does not accept 'ignorecase'; did you mean 'ignore_case'? "
            "(accepted: 'values', 'mode', 'ignore_case')",
        ),
    ],
)
def test_contains_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("contains", args) == reason


def test_contains_cuts_a_long_bad_argument_in_the_reason() -> None:
    assert spec_error("contains", 10**80) == (
        "expects a string, a list of strings or a mapping with 'values', got "
        + "1"
        + "0" * 58
        + "…"
    )


def test_check_contains_rejects_an_empty_list_from_python() -> None:
    with pytest.raises(AssertionSpecError, match=r"^expects a string or a list of non-empty"):
        check_contains(REFUND, [])


def test_not_contains_passes_when_no_phrase_appears() -> None:
    result = run("not_contains", ["As an AI language model"], "Sure, here you go.")
    assert (result.passed, result.score) == (True, 1.0)
    assert result.message == "not found: 'As an AI language model'"


def test_not_contains_shows_the_phrase_found_in_its_context() -> None:
    output = "x" * 200 + " my system prompt says: be nice " + "y" * 200
    result = run("not_contains", ["system prompt", "password"], output)
    assert (result.passed, result.score) == (False, 0.5)
    assert result.message == (
        "expected output not to contain any of 'system prompt', 'password' "
        "(found: 'system prompt'); got: '…"
        + "x" * 70
        + " my system prompt says: be nice "
        + "y" * 58
        + "…'"
    )


def test_not_contains_any_mode_fails_only_when_all_phrases_appear() -> None:
    args = {"values": ["refund", "lawyer"], "mode": "any"}
    assert run("not_contains", args, "No refund, sorry.").passed
    result = run("not_contains", args, "Ask your lawyer for a refund.")
    assert result.message == (
        "expected output not to contain all of 'refund', 'lawyer' (found: 'refund', 'lawyer'); "
        "got: 'Ask your lawyer for a refund.'"
    )


def test_not_contains_can_ignore_case() -> None:
    result = run("not_contains", {"values": "ACME", "ignore_case": True}, "I work for Acme.")
    assert result.message == (
        "expected output not to contain 'ACME', ignoring case (found: 'ACME'); "
        "got: 'I work for Acme.'"
    )


def test_assert_not_contains_fails_with_the_case_file_message() -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_not_contains("I work for Acme.", "Acme")
    assert str(excinfo.value) == run("not_contains", "Acme", "I work for Acme.").message


def test_regex_searches_anywhere_in_the_output() -> None:
    result = run("regex", r"\d+ days", REFUND.replace("two weeks", "14 days"))
    assert (result.passed, result.message) == (True, "matched '14 days' at character 29")


def test_regex_failure_shows_the_pattern_as_written() -> None:
    result = run("regex", r"\d+ days", REFUND)
    assert result.message == (
        r"expected output to match regex '\d+ days'; "
        "got: 'Items can be returned within two weeks of purchase.'"
    )


def test_regex_flags_come_from_the_mapping_form() -> None:
    assert run("regex", {"pattern": "ITEMS", "ignore_case": True}, REFUND).passed
    assert run("regex", {"pattern": "^b$", "multiline": True}, "a\nb\nc").passed
    assert run("regex", {"pattern": "a.b", "dotall": True}, "a\nb").passed
    result = run("regex", {"pattern": "^b$", "multiline": True, "dotall": True}, "abc")
    assert result.message == "expected output to match regex '^b$' (multiline, dotall); got: 'abc'"


def test_not_regex_shows_the_match_in_its_context() -> None:
    output = "Your SSN is 123-45-6789, keep it safe."
    result = run("not_regex", r"\b\d{3}-\d{2}-\d{4}\b", output)
    assert result.message == (
        r"expected output not to match regex '\b\d{3}-\d{2}-\d{4}\b' (matched: '123-45-6789'); "
        "got: 'Your SSN is 123-45-6789, keep it safe.'"
    )


def test_not_regex_passes_without_a_match() -> None:
    result = run("not_regex", {"pattern": "secret", "ignore_case": True}, "Nothing here.")
    assert (result.passed, result.message) == (True, "no match for regex 'secret' (ignore_case)")


def test_invalid_regex_is_a_spec_error_naming_the_regex_error() -> None:
    assert spec_error("regex", "(") == ("invalid regex '(': missing ) at position 1")
    assert spec_error("not_regex", {"pattern": "[a-"}).startswith("invalid regex '[a-': ")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (5, "expects a pattern string or a mapping with 'pattern', got 5"),
        ("", "expects a non-empty pattern, got ''"),
        (
            {"dotall": True},
            "expects a pattern string or a mapping with 'pattern', got {'dotall': True}",
        ),
        ({"pattern": "a", "multiline": 1}, "expects 'multiline' to be true or false, got 1"),
    ],
)
def test_regex_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("regex", args) == reason


def test_assert_regex_takes_a_compiled_pattern() -> None:
    assert assert_regex(REFUND, re.compile("WEEKS", re.IGNORECASE)).passed
    with pytest.raises(LLMAssertionError, match="not to match regex 'weeks' "):
        assert_not_regex(REFUND, re.compile("weeks"))


def test_a_compiled_re_pattern_keeps_its_flags() -> None:
    """``re`` and ``regex`` number their ASCII flags differently: each flag is carried over."""
    assert check_regex("é", re.compile(r"^\w$")).passed
    assert not check_regex("é", re.compile(r"^\w$", re.ASCII)).passed
    assert check_regex("ab", re.compile("a b  # a, then b", re.VERBOSE)).passed
    result = check_regex("a\nB", re.compile("^b$", re.IGNORECASE | re.MULTILINE))
    assert (result.passed, result.message) == (True, "matched 'B' at character 2")
    assert check_not_regex("a\nb", re.compile("a.b"), dotall=True).message == (
        "expected output not to match regex 'a.b' (dotall) (matched: 'a\\nb'); got: 'a b'"
    )


def test_assert_regex_takes_a_pattern_from_compile_regex() -> None:
    assert assert_regex(REFUND, compile_regex("WEEKS", ignore_case=True)).passed
    assert not check_regex(REFUND, compile_regex("^weeks", ignore_case=True)).passed


# ``re`` tries 2**40 ways to split the a's before it gives up on the b: hours on any machine.
CATASTROPHIC = "^(a|a)+$"
ALMOST_A_MATCH = "a" * 40 + "b"


@pytest.fixture
def short_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)


@pytest.mark.usefixtures("short_time_limit")
@pytest.mark.parametrize("name", ["regex", "not_regex"])
def test_a_pattern_past_the_time_limit_is_undecided_naming_the_assertion(name: str) -> None:
    check = build(name, {"pattern": CATASTROPHIC, "ignore_case": True})
    with pytest.raises(UndecidedAssertion) as excinfo:
        check(Response(text=ALMOST_A_MATCH))
    assert str(excinfo.value) == (
        f"{name} '^(a|a)+$' (ignore_case): matching the output took longer than 0.05 s "
        "(a pattern that backtracks catastrophically?); simplify it"
    )


@pytest.mark.usefixtures("short_time_limit")
def test_the_time_limit_message_shows_a_long_pattern_clipped_as_written() -> None:
    pattern = CATASTROPHIC[:-1] + r"(\d?)" * 20 + "$"
    with pytest.raises(UndecidedAssertion) as excinfo:
        run("regex", pattern, ALMOST_A_MATCH)
    assert str(excinfo.value).startswith(f"regex '{pattern[:59]}…': matching the output took ")


@pytest.mark.usefixtures("short_time_limit")
def test_the_python_helpers_raise_rather_than_hang() -> None:
    for helper in (check_regex, assert_regex, check_not_regex, assert_not_regex):
        with pytest.raises(UndecidedAssertion, match=r"took longer than 0\.05 s"):
            helper(ALMOST_A_MATCH, CATASTROPHIC)
    with pytest.raises(UndecidedAssertion, match=r"^regex '\^\(a\|a\)\+\$': "):
        assert_regex(ALMOST_A_MATCH, re.compile(CATASTROPHIC))


def test_a_plain_pytest_test_using_the_helper_fails_with_the_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_app=f"""
        from llmtest import assert_regex

        def test_answer(monkeypatch):
            monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)
            assert_regex({ALMOST_A_MATCH!r}, {CATASTROPHIC!r})
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*UndecidedAssertion: regex '^(a|a)+$': matching the output took longer than 0.05 s *"]
    )


def test_the_docs_state_the_time_limit_the_code_applies() -> None:
    from llmtest.assertions import patterns

    page = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text("utf-8")
    assert patterns.REGEX_TIMEOUT_S == 1.0
    assert "Each search of an answer may take at most 1 second (`REGEX_TIMEOUT_S` in" in page


def test_equals_ignores_surrounding_whitespace_by_default() -> None:
    result = run("equals", "Paris", "  Paris\n")
    assert (result.passed, result.message) == (True, "output equals 'Paris'")


def test_equals_failure_points_at_the_first_difference() -> None:
    result = run("equals", "Paris", "Paris, France")
    assert result.message == (
        "expected output to equal 'Paris'; got: 'Paris, France' (first difference at character 5)"
    )


def test_equals_centres_long_texts_on_the_difference() -> None:
    expected = "a" * 300 + "X" + "b" * 300
    result = run("equals", expected, expected.replace("X", "Y"))
    window = "a" * 80 + "{}" + "b" * 79
    assert result.message == (
        f"expected output to equal '…{window.format('X')}…'; "
        f"got: '…{window.format('Y')}…' (first difference at character 300)"
    )


def test_equals_can_keep_whitespace_and_ignore_case() -> None:
    assert not run("equals", {"value": "Paris", "strip": False}, "Paris\n").passed
    result = run("equals", {"value": "PARIS", "ignore_case": True}, "paris!")
    assert result.message == (
        "expected output to equal 'PARIS', ignoring case; got: 'paris!' "
        "(first difference at character 5)"
    )


def test_starts_with_ignores_leading_whitespace_by_default() -> None:
    assert run("starts_with", "Sure", "\n  Sure, here it is.").passed
    assert not run("starts_with", {"value": "Sure", "strip": False}, " Sure").passed


def test_starts_with_failure_shows_how_the_output_starts() -> None:
    result = run("starts_with", {"value": "sure", "ignore_case": True}, "I cannot help with that.")
    assert result.message == (
        "expected output to start with 'sure', ignoring case; got: 'I cannot help with that.'"
    )


@pytest.mark.parametrize("name", ["equals", "starts_with"])
def test_exact_text_assertions_reject_bad_arguments(name: str) -> None:
    assert spec_error(name, 5) == "expects a string or a mapping with 'value', got 5"
    assert spec_error(name, {"value": 5}) == "expects 'value' to be a string, got 5"
    assert spec_error(name, {"value": "a", "trim": True}) == (
        "does not accept 'trim'; did you mean 'strip'? (accepted: 'value', 'ignore_case', 'strip')"
    )


def test_python_exact_text_assertions_raise_the_case_file_message() -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_equals("Paris, France", "Paris")
    assert str(excinfo.value) == run("equals", "Paris", "Paris, France").message
    with pytest.raises(
        LLMAssertionError, match=r"^expected output to start with 'Sure'; got: 'No\.'$"
    ):
        assert_starts_with("No.", "Sure")
