"""Budgets an answer must stay within: its length, how long it took, its tokens, its cost.

The score of each is the measured figure, so reports can chart it across runs (and a case's
score leaves it out). The bare argument is the limit: ``length: 200`` is at most 200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import AMOUNT, WHOLE_NUMBER, OneOf
from llmtest.assertions.base import Judge, Verdict
from llmtest.assertions.declaration import Assertion, P, Shorthand, assertion
from llmtest.assertions.excerpt import excerpt
from llmtest.errors import AssertionSpecError

Unit = Literal["chars", "words"]
Which = Literal["output", "input", "total"]
UNITS: tuple[Unit, ...] = ("chars", "words")
WHICH: tuple[Which, ...] = ("output", "input", "total")
_UNIT = OneOf(UNITS)
_WHICH = OneOf(WHICH)
_UNIT_NAMES = {"chars": ("character", "characters"), "words": ("word", "words")}

_COST_SUMMARY = "the call's cost (needs prices on the model) is within bounds"

Count = Annotated[int | None, WHOLE_NUMBER]
Amount = Annotated[float, AMOUNT]


def _count_budget(summary: str, counted: str) -> Callable[[Callable[P, Judge]], Assertion[P]]:
    """A budget on a count, ``min`` and/or ``max``; the bare argument is the ``max``."""
    form = Shorthand("max", f"a whole number (max {counted})", invalid="{form}")
    return assertion(summary=summary, measures="figure", shorthand=form, any_of=("min", "max"))


def _limit(summary: str, parameter: str, what: str) -> Callable[[Callable[P, Judge]], Assertion[P]]:
    """A limit on an amount, which the bare argument may give."""
    form = Shorthand(parameter, what, invalid="{form} (at least 0)")
    return assertion(summary=summary, measures="figure", shorthand=form)


@_count_budget("the output's length is within bounds", "characters")
def length(max: Count = None, *, min: Count = None, unit: Unit = "chars") -> Judge:
    """Characters count the raw text; words are runs of non-whitespace."""
    _check_range(min, max)
    singular, plural = _UNIT_NAMES[_UNIT.field("unit", unit)]

    def check(response: Response) -> Verdict:
        text = response.text
        size = len(text) if unit == "chars" else len(text.split())
        measured = f"output is {size} {singular if size == 1 else plural} long"
        return _within(size, min, max, measured, shown=text)

    return check


@_count_budget("the reported usage is within bounds", "output tokens")
def tokens(max: Count = None, *, min: Count = None, which: Which = "output") -> Judge:
    """Tokens as the adapter reported them: a model that reports none fails the budget."""
    _check_range(min, max)
    _WHICH.field("which", which)

    def check(response: Response) -> Verdict:
        usage = response.usage
        count = {
            "output": usage.output_tokens,
            "input": usage.input_tokens,
            "total": usage.total_tokens,
        }[which]
        if count is None:
            message = f"cannot count {which} tokens: the adapter reported no token usage"
            return Verdict(False, None, message)
        measured = f"used {count} {which} token{'' if count == 1 else 's'}"
        return _within(count, min, max, measured)

    return check


@_limit("the call took at most that long", "max", "a number of milliseconds")
def latency_ms(max: Amount) -> Judge:
    """The latency the adapter measured around the provider call."""
    limit = AMOUNT.field("max", max)

    def check(response: Response) -> Verdict:
        latency = response.latency_ms
        if latency is None:
            return Verdict(False, None, "latency was not measured: the adapter reported none")
        return _at_most(latency, limit, f"took {_plain(latency)} ms", f"{_plain(limit)} ms")

    return check


@_limit(_COST_SUMMARY, "max_usd", "a number of US dollars")
def cost(max_usd: Amount) -> Judge:
    """The cost the adapter priced from the usage; unknown when no price is configured."""
    limit = AMOUNT.field("max_usd", max_usd)

    def check(response: Response) -> Verdict:
        spent, model = response.cost_usd, response.model
        if spent is None:
            priced = f"model {model!r}" if model else "this model"
            return Verdict(False, None, f"cost is unknown: no price is configured for {priced}")
        return _at_most(spent, limit, f"cost {_usd(spent)}", _usd(limit))

    return check


check_length, assert_length = length.check, length.assert_
check_tokens, assert_tokens = tokens.check, tokens.assert_
check_latency_ms, assert_latency_ms = latency_ms.check, latency_ms.assert_
check_cost, assert_cost = cost.check, cost.assert_


def _at_most(value: float, limit: float, measured: str, shown_limit: str) -> Verdict:
    if value <= limit:
        return Verdict(True, value, f"{measured} (at most {shown_limit})")
    return Verdict(False, value, f"{measured}, expected at most {shown_limit}")


def _check_range(low: Any, high: Any) -> None:
    """Shared by case files and Python callers, so both hear the same complaint."""
    if low is None and high is None:
        raise AssertionSpecError("expects at least one of 'min' or 'max'")
    if low is not None:
        WHOLE_NUMBER.field("min", low)
    if high is not None:
        WHOLE_NUMBER.field("max", high)
    if low is not None and high is not None and low > high:
        raise AssertionSpecError(f"expects 'min' ({low}) to be at most 'max' ({high})")


def _within(
    value: int, low: int | None, high: int | None, measured: str, shown: str | None = None
) -> Verdict:
    """``measured`` within [low, high]; a failure shows the output when given one."""
    if low is not None and high is not None:
        wanted = f"between {low} and {high}"
    else:
        wanted = f"at least {low}" if low is not None else f"at most {high}"
    if (low is None or value >= low) and (high is None or value <= high):
        return Verdict(True, value, f"{measured} ({wanted})")
    got = f"; got: {excerpt(shown)}" if shown is not None else ""
    return Verdict(False, value, f"{measured}, expected {wanted}{got}")


def _plain(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _usd(value: float) -> str:
    return "$" + f"{value:.6f}".rstrip("0").rstrip(".")
