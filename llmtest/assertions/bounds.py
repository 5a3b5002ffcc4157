"""Budgets an answer must stay within: its length, how long it took, its tokens, its cost.

The score of each is the measured figure, so reports can chart it across runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from llmtest.adapters.base import Response
from llmtest.assertions import _inputs as inputs
from llmtest.assertions.base import AssertionResult, BuildContext, Check, raise_on_failure
from llmtest.assertions.excerpt import excerpt
from llmtest.errors import AssertionSpecError

Unit = Literal["chars", "words"]
Which = Literal["output", "input", "total"]
UNITS: tuple[Unit, ...] = ("chars", "words")
WHICH: tuple[Which, ...] = ("output", "input", "total")
_UNIT_NAMES = {"chars": ("character", "characters"), "words": ("word", "words")}
_WHOLE = "to be a whole number of at least 0"
_AMOUNT = "to be a number of at least 0"


def check_length(
    output: str | Response,
    *,
    min: int | None = None,
    max: int | None = None,
    unit: Unit = "chars",
) -> AssertionResult:
    """Characters count the raw text; words are runs of non-whitespace."""
    _check_range(min, max)
    text = inputs.output_text(output)
    size = len(text) if unit == "chars" else len(text.split())
    singular, plural = _UNIT_NAMES[unit]
    measured = f"output is {size} {singular if size == 1 else plural} long"
    wanted = _range_phrase(min, max)
    if _within(size, min, max):
        return AssertionResult("length", True, size, f"{measured} ({wanted})")
    message = f"{measured}, expected {wanted}; got: {excerpt(text)}"
    return AssertionResult("length", False, size, message)


def check_latency_ms(response: Response, max: float) -> AssertionResult:
    """The latency the adapter measured around the provider call."""
    limit = inputs.number(max, f"'max' {_AMOUNT}", low=0)
    latency = response.latency_ms
    if latency is None:
        message = "latency was not measured: the adapter reported none"
        return AssertionResult("latency_ms", False, None, message)
    measured = f"took {_plain(latency)} ms"
    if latency <= limit:
        return AssertionResult(
            "latency_ms", True, latency, f"{measured} (at most {_plain(limit)} ms)"
        )
    message = f"{measured}, expected at most {_plain(limit)} ms"
    return AssertionResult("latency_ms", False, latency, message)


def check_tokens(
    response: Response,
    *,
    max: int | None = None,
    min: int | None = None,
    which: Which = "output",
) -> AssertionResult:
    _check_range(min, max)
    usage = response.usage
    count = {
        "output": usage.output_tokens,
        "input": usage.input_tokens,
        "total": usage.total_tokens,
    }[which]
    if count is None:
        message = f"cannot count {which} tokens: the adapter reported no token usage"
        return AssertionResult("tokens", False, None, message)
    measured = f"used {count} {which} token{'' if count == 1 else 's'}"
    wanted = _range_phrase(min, max)
    if _within(count, min, max):
        return AssertionResult("tokens", True, count, f"{measured} ({wanted})")
    return AssertionResult("tokens", False, count, f"{measured}, expected {wanted}")


def check_cost(response: Response, max_usd: float) -> AssertionResult:
    """The cost the adapter priced from the usage; unknown when no price is configured."""
    limit = inputs.number(max_usd, f"'max_usd' {_AMOUNT}", low=0)
    cost = response.cost_usd
    if cost is None:
        model = f"model {response.model!r}" if response.model else "this model"
        message = f"cost is unknown: no price is configured for {model}"
        return AssertionResult("cost", False, None, message)
    measured = f"cost {_usd(cost)}"
    if cost <= limit:
        return AssertionResult("cost", True, cost, f"{measured} (at most {_usd(limit)})")
    return AssertionResult("cost", False, cost, f"{measured}, expected at most {_usd(limit)}")


def assert_length(
    output: str | Response,
    max: int | None = None,
    *,
    min: int | None = None,
    unit: Unit = "chars",
) -> AssertionResult:
    """``assert_length(r, 200)`` is ``length: 200`` in a case file: at most 200."""
    __tracebackhide__ = True
    return raise_on_failure(check_length(output, min=min, max=max, unit=unit))


def assert_latency_ms(response: Response, max: float) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_latency_ms(response, max))


def assert_tokens(
    response: Response,
    max: int | None = None,
    *,
    min: int | None = None,
    which: Which = "output",
) -> AssertionResult:
    """``assert_tokens(r, 100)`` is ``tokens: 100`` in a case file: at most 100."""
    __tracebackhide__ = True
    return raise_on_failure(check_tokens(response, max=max, min=min, which=which))


def assert_cost(response: Response, max_usd: float) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_cost(response, max_usd))


def build_length(args: Any, ctx: BuildContext) -> Check:
    form = "a whole number (max characters) or a mapping with 'min' and/or 'max'"
    if isinstance(args, dict):
        opts = inputs.options(args, ("min", "max", "unit"))
        low, high = _range_args(opts, form)
        unit = inputs.choice(opts, "unit", UNITS, "chars")
    elif isinstance(args, int) and not isinstance(args, bool):
        low, high, unit = None, inputs.whole_number(args, form), "chars"
    else:
        raise inputs.expected(form, args)

    def check(response: Response) -> AssertionResult:
        return check_length(response, min=low, max=high, unit=unit)

    return check


def build_latency_ms(args: Any, ctx: BuildContext) -> Check:
    form = "a number of milliseconds or a mapping with 'max'"
    if isinstance(args, dict):
        opts = inputs.options(args, ("max",))
        limit = inputs.number(inputs.required(opts, "max", form), f"'max' {_AMOUNT}", low=0)
    else:
        limit = inputs.number(args, form + " (at least 0)", low=0)

    def check(response: Response) -> AssertionResult:
        return check_latency_ms(response, limit)

    return check


def build_tokens(args: Any, ctx: BuildContext) -> Check:
    form = "a whole number (max output tokens) or a mapping with 'min' and/or 'max'"
    if isinstance(args, dict):
        opts = inputs.options(args, ("max", "min", "which"))
        low, high = _range_args(opts, form)
        which = inputs.choice(opts, "which", WHICH, "output")
    elif isinstance(args, int) and not isinstance(args, bool):
        low, high, which = None, inputs.whole_number(args, form), "output"
    else:
        raise inputs.expected(form, args)

    def check(response: Response) -> AssertionResult:
        return check_tokens(response, max=high, min=low, which=which)

    return check


def build_cost(args: Any, ctx: BuildContext) -> Check:
    form = "a number of US dollars or a mapping with 'max_usd'"
    if isinstance(args, dict):
        opts = inputs.options(args, ("max_usd",))
        value = inputs.required(opts, "max_usd", form)
        limit = inputs.number(value, f"'max_usd' {_AMOUNT}", low=0)
    else:
        limit = inputs.number(args, form + " (at least 0)", low=0)

    def check(response: Response) -> AssertionResult:
        return check_cost(response, limit)

    return check


def _range_args(opts: Mapping[str, Any], form: str) -> tuple[int | None, int | None]:
    low, high = opts.get("min"), opts.get("max")
    if low is None and high is None:
        raise inputs.expected(form, dict(opts))
    _check_range(low, high)
    return low, high


def _check_range(low: Any, high: Any) -> None:
    """Shared by case files and Python callers, so both hear the same complaint."""
    if low is None and high is None:
        raise AssertionSpecError("expects at least one of 'min' or 'max'")
    if low is not None:
        inputs.whole_number(low, f"'min' {_WHOLE}")
    if high is not None:
        inputs.whole_number(high, f"'max' {_WHOLE}")
    if low is not None and high is not None and low > high:
        raise AssertionSpecError(f"expects 'min' ({low}) to be at most 'max' ({high})")


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _range_phrase(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _plain(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _usd(value: float) -> str:
    return "$" + f"{value:.6f}".rstrip("0").rstrip(".")
