"""Budgets: length, latency_ms, tokens and cost, each scored by the measured figure."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llmtest.adapters.base import Response, Usage
from llmtest.assertions import assert_cost, assert_latency_ms, assert_length, assert_tokens
from llmtest.errors import AssertionSpecError, LLMAssertionError
from tests.assertions.helpers import run, spec_error


def test_length_shorthand_is_a_maximum_in_characters() -> None:
    result = run("length", 5, "hello")
    assert (result.passed, result.score, result.message) == (
        True,
        5,
        "output is 5 characters long (at most 5)",
    )


def test_length_failure_shows_the_size_the_bound_and_the_output() -> None:
    result = run("length", {"min": 20, "max": 100}, "Too short.")
    assert result.message == (
        "output is 10 characters long, expected between 20 and 100; got: 'Too short.'"
    )


def test_length_counts_words_when_asked() -> None:
    result = run("length", {"max": 3, "unit": "words"}, "one two\nthree  four")
    assert result.message == (
        "output is 4 words long, expected at most 3; got: 'one two three four'"
    )
    assert run("length", {"min": 1, "unit": "words"}, "word").message == (
        "output is 1 word long (at least 1)"
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            "long",
            "expects a whole number (max characters) or a mapping with 'min' and/or 'max', "
            "got 'long'",
        ),
        (
            {"unit": "words"},
            "expects a whole number (max characters) or a mapping with 'min' and/or 'max', "
            "got {'unit': 'words'}",
        ),
        ({"max": 2.5}, "expects 'max' to be a whole number of at least 0, got 2.5"),
        ({"min": -1}, "expects 'min' to be a whole number of at least 0, got -1"),
        ({"min": 10, "max": 5}, "expects 'min' (10) to be at most 'max' (5)"),
        (
            {"max": 5, "unit": "tokens"},
            "expects 'unit' to be one of 'chars', 'words', got 'tokens'",
        ),
        (
            True,
            "expects a whole number (max characters) or a mapping with 'min' and/or 'max', "
            "got True",
        ),
    ],
)
def test_length_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("length", args) == reason


def test_assert_length_needs_a_bound() -> None:
    with pytest.raises(AssertionSpecError, match=r"^expects at least one of 'min' or 'max'$"):
        assert_length("text")


def test_latency_within_the_maximum_passes() -> None:
    result = run("latency_ms", 2000, Response("ok", latency_ms=812.25))
    assert (result.passed, result.score, result.message) == (
        True,
        812.25,
        "took 812.2 ms (at most 2000 ms)",
    )


def test_latency_over_the_maximum_fails() -> None:
    result = run("latency_ms", {"max": 2000}, Response("ok", latency_ms=2350.43))
    assert (result.passed, result.message) == (False, "took 2350.4 ms, expected at most 2000 ms")


def test_unmeasured_latency_fails_and_says_so() -> None:
    result = run("latency_ms", 2000, Response("ok"))
    assert (result.passed, result.score) == (False, None)
    assert result.message == "latency was not measured: the adapter reported none"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            "fast",
            "expects a number of milliseconds or a mapping with 'max' (at least 0), got 'fast'",
        ),
        ({}, "expects a number of milliseconds or a mapping with 'max', got {}"),
        ({"max": -5}, "expects 'max' to be a number of at least 0, got -5"),
        ({"max_ms": 5}, "does not accept 'max_ms'; did you mean 'max'? (accepted: 'max')"),
    ],
)
def test_latency_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("latency_ms", args) == reason


def test_tokens_shorthand_bounds_output_tokens() -> None:
    response = Response("ok", usage=Usage(input_tokens=40, output_tokens=512))
    result = run("tokens", 256, response)
    assert (result.passed, result.score, result.message) == (
        False,
        512,
        "used 512 output tokens, expected at most 256",
    )


def test_tokens_can_bound_input_or_total_from_below_and_above() -> None:
    response = Response("ok", usage=Usage(input_tokens=40, output_tokens=1))
    assert run("tokens", {"max": 50, "which": "input"}, response).passed
    result = run("tokens", {"min": 50, "max": 100, "which": "total"}, response)
    assert result.message == "used 41 total tokens, expected between 50 and 100"
    assert run("tokens", {"min": 1}, response).message == "used 1 output token (at least 1)"


def test_unknown_token_usage_fails_with_a_clear_message() -> None:
    result = run("tokens", 256, Response("ok"))
    assert result.message == "cannot count output tokens: the adapter reported no token usage"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            1.5,
            "expects a whole number (max output tokens) or a mapping with 'min' and/or 'max', "
            "got 1.5",
        ),
        (
            {"max": 10, "which": "prompt"},
            "expects 'which' to be one of 'output', 'input', 'total', got 'prompt'",
        ),
    ],
)
def test_tokens_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("tokens", args) == reason


def test_cost_within_budget_passes() -> None:
    result = run("cost", {"max_usd": 0.05}, Response("ok", cost_usd=0.0123))
    assert (result.passed, result.score, result.message) == (
        True,
        0.0123,
        "cost $0.0123 (at most $0.05)",
    )


def test_cost_over_budget_fails() -> None:
    result = run("cost", 0.01, Response("ok", cost_usd=0.0123))
    assert result.message == "cost $0.0123, expected at most $0.01"


def test_unknown_cost_says_no_price_is_configured() -> None:
    assert run("cost", 0.01, Response("ok", model="gpt-x")).message == (
        "cost is unknown: no price is configured for model 'gpt-x'"
    )
    assert run("cost", 0.01, Response("ok")).message == (
        "cost is unknown: no price is configured for this model"
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            "cheap",
            "expects a number of US dollars or a mapping with 'max_usd' (at least 0), got 'cheap'",
        ),
        ({"max": 1}, "does not accept 'max'; did you mean 'max_usd'? (accepted: 'max_usd')"),
        ({"max_usd": "1"}, "expects 'max_usd' to be a number of at least 0, got '1'"),
    ],
)
def test_cost_rejects_bad_arguments(args: object, reason: str) -> None:
    assert spec_error("cost", args) == reason


BUSY = Response("hello", latency_ms=3000.0, usage=Usage(1, 900), cost_usd=2.5)


@pytest.mark.parametrize(
    ("name", "args", "call"),
    [
        ("length", 3, lambda: assert_length(BUSY, max=3)),
        ("length", 3, lambda: assert_length(BUSY, 3)),  # as `length: 3` in a case file
        ("latency_ms", 1000, lambda: assert_latency_ms(BUSY, 1000)),
        ("tokens", 10, lambda: assert_tokens(BUSY, max=10)),
        ("tokens", 10, lambda: assert_tokens(BUSY, 10)),
        ("cost", 1, lambda: assert_cost(BUSY, 1)),
    ],
)
def test_python_budget_assertions_raise_the_case_file_messages(
    name: str, args: object, call: Callable[[], object]
) -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        call()
    assert str(excinfo.value) == run(name, args, BUSY).message
