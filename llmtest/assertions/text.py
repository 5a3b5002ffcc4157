"""Assertions on the words of the answer: phrases, patterns, exact text, how it starts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from llmtest.adapters.base import Response
from llmtest.assertions import _inputs as inputs
from llmtest.assertions.base import AssertionResult, BuildContext, Check, raise_on_failure
from llmtest.assertions.excerpt import ELLIPSIS, VALUE_WIDTH, excerpt, quote_all, short_repr
from llmtest.errors import AssertionSpecError

Mode = Literal["all", "any"]
_MODES: tuple[Mode, ...] = ("all", "any")
_PHRASES = "a string or a list of non-empty strings"
_PHRASE_FORMS = "a string, a list of strings or a mapping with 'values'"
_FLAG_NAMES = ((re.IGNORECASE, "ignore_case"), (re.MULTILINE, "multiline"), (re.DOTALL, "dotall"))


def check_contains(
    output: str | Response,
    values: str | Sequence[str],
    *,
    mode: Mode = "all",
    ignore_case: bool = False,
) -> AssertionResult:
    """Score is the fraction of the phrases found; ``mode="any"`` needs just one of them."""
    text = inputs.output_text(output)
    wanted = _as_tuple(values)
    present = [v for v in wanted if _find(text, v, ignore_case) is not None]
    missing = [v for v in wanted if v not in present]
    passed = not missing if mode == "all" else bool(present)
    score = len(present) / len(wanted)
    if passed:
        return AssertionResult("contains", True, score, f"found {quote_all(present)}")
    expectation = _expectation("contain", wanted, "all of" if mode == "all" else "any of")
    message = (
        f"expected output to {expectation}{_case_note(ignore_case)} "
        f"(missing: {quote_all(missing)}); got: {excerpt(text)}"
    )
    return AssertionResult("contains", False, score, message)


def check_not_contains(
    output: str | Response,
    values: str | Sequence[str],
    *,
    mode: Mode = "all",
    ignore_case: bool = False,
) -> AssertionResult:
    """``mode="all"``: none of the phrases may appear; ``mode="any"``: not all of them together.

    Score is the fraction of the phrases absent. A failure shows the first one found in context.
    """
    text = inputs.output_text(output)
    wanted = _as_tuple(values)
    spans = {v: span for v in wanted if (span := _find(text, v, ignore_case)) is not None}
    present = [v for v in wanted if v in spans]
    passed = not present if mode == "all" else len(present) < len(wanted)
    score = 1 - len(present) / len(wanted)
    if passed:
        absent = [v for v in wanted if v not in spans]
        summary = f"not found: {quote_all(absent)}"
        return AssertionResult("not_contains", True, score, summary)
    first = min(spans.values())
    expectation = _expectation("contain", wanted, "any of" if mode == "all" else "all of")
    message = (
        f"expected output not to {expectation}{_case_note(ignore_case)} "
        f"(found: {quote_all(present)}); got: {excerpt(text, around=first)}"
    )
    return AssertionResult("not_contains", False, score, message)


def check_equals(
    output: str | Response, value: str, *, ignore_case: bool = False, strip: bool = True
) -> AssertionResult:
    """Whole-answer equality; ``strip`` forgives the whitespace models add around answers."""
    actual, want = inputs.output_text(output), value
    if strip:
        actual, want = actual.strip(), want.strip()
    left, right = (actual.casefold(), want.casefold()) if ignore_case else (actual, want)
    if left == right:
        return AssertionResult("equals", True, None, f"output equals {excerpt(want)}")
    at = _first_difference(left, right)
    message = (
        f"expected output to equal {excerpt(want, around=at)}{_case_note(ignore_case)}; "
        f"got: {excerpt(actual, around=at)} (first difference at character {at})"
    )
    return AssertionResult("equals", False, None, message)


def check_starts_with(
    output: str | Response, value: str, *, ignore_case: bool = False, strip: bool = True
) -> AssertionResult:
    """``strip`` ignores leading whitespace, which models often emit before the first word."""
    actual, want = inputs.output_text(output), value
    if strip:
        actual, want = actual.lstrip(), want.lstrip()
    left, right = (actual.casefold(), want.casefold()) if ignore_case else (actual, want)
    if left.startswith(right):
        return AssertionResult("starts_with", True, None, f"output starts with {short_repr(want)}")
    message = (
        f"expected output to start with {short_repr(want)}{_case_note(ignore_case)}; "
        f"got: {excerpt(actual)}"
    )
    return AssertionResult("starts_with", False, None, message)


def compile_regex(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> re.Pattern[str]:
    """Compile once, when the case is loaded, so a broken pattern is a load error."""
    try:
        return re.compile(pattern, _flags(ignore_case, multiline, dotall))
    except re.error as exc:
        raise AssertionSpecError(f"invalid regex {_quoted(pattern, len(pattern))}: {exc}") from None


def check_regex(
    output: str | Response,
    pattern: str | re.Pattern[str],
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dotall: bool = False,
) -> AssertionResult:
    """``re.search`` anywhere in the output; the flags add to a compiled pattern's own."""
    compiled = _pattern(pattern, ignore_case, multiline, dotall)
    text = inputs.output_text(output)
    match = compiled.search(text)
    if match is not None:
        message = f"matched {short_repr(match.group(0))} at character {match.start()}"
        return AssertionResult("regex", True, None, message)
    message = f"expected output to match {_describe(compiled)}; got: {excerpt(text)}"
    return AssertionResult("regex", False, None, message)


def check_not_regex(
    output: str | Response,
    pattern: str | re.Pattern[str],
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dotall: bool = False,
) -> AssertionResult:
    """Fails on the first match, shown in its context."""
    compiled = _pattern(pattern, ignore_case, multiline, dotall)
    text = inputs.output_text(output)
    match = compiled.search(text)
    if match is None:
        return AssertionResult("not_regex", True, None, f"no match for {_describe(compiled)}")
    message = (
        f"expected output not to match {_describe(compiled)} "
        f"(matched: {short_repr(match.group(0))}); got: {excerpt(text, around=match.span())}"
    )
    return AssertionResult("not_regex", False, None, message)


def assert_contains(
    output: str | Response,
    values: str | Sequence[str],
    *,
    mode: Mode = "all",
    ignore_case: bool = False,
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_contains(output, values, mode=mode, ignore_case=ignore_case))


def assert_not_contains(
    output: str | Response,
    values: str | Sequence[str],
    *,
    mode: Mode = "all",
    ignore_case: bool = False,
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_not_contains(output, values, mode=mode, ignore_case=ignore_case))


def assert_equals(
    output: str | Response, value: str, *, ignore_case: bool = False, strip: bool = True
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_equals(output, value, ignore_case=ignore_case, strip=strip))


def assert_starts_with(
    output: str | Response, value: str, *, ignore_case: bool = False, strip: bool = True
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_starts_with(output, value, ignore_case=ignore_case, strip=strip))


def assert_regex(
    output: str | Response,
    pattern: str | re.Pattern[str],
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dotall: bool = False,
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(
        check_regex(output, pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall)
    )


def assert_not_regex(
    output: str | Response,
    pattern: str | re.Pattern[str],
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dotall: bool = False,
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(
        check_not_regex(
            output, pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall
        )
    )


def build_contains(args: Any, ctx: BuildContext) -> Check:
    values, mode, ignore_case = _phrase_args(args)

    def check(response: Response) -> AssertionResult:
        return check_contains(response, values, mode=mode, ignore_case=ignore_case)

    return check


def build_not_contains(args: Any, ctx: BuildContext) -> Check:
    values, mode, ignore_case = _phrase_args(args)

    def check(response: Response) -> AssertionResult:
        return check_not_contains(response, values, mode=mode, ignore_case=ignore_case)

    return check


def build_equals(args: Any, ctx: BuildContext) -> Check:
    value, ignore_case, strip = _text_args(args)

    def check(response: Response) -> AssertionResult:
        return check_equals(response, value, ignore_case=ignore_case, strip=strip)

    return check


def build_starts_with(args: Any, ctx: BuildContext) -> Check:
    value, ignore_case, strip = _text_args(args)

    def check(response: Response) -> AssertionResult:
        return check_starts_with(response, value, ignore_case=ignore_case, strip=strip)

    return check


def build_regex(args: Any, ctx: BuildContext) -> Check:
    pattern = _regex_args(args)

    def check(response: Response) -> AssertionResult:
        return check_regex(response, pattern)

    return check


def build_not_regex(args: Any, ctx: BuildContext) -> Check:
    pattern = _regex_args(args)

    def check(response: Response) -> AssertionResult:
        return check_not_regex(response, pattern)

    return check


def _phrase_args(args: Any) -> tuple[tuple[str, ...], Mode, bool]:
    if isinstance(args, dict):
        opts = inputs.options(args, ("values", "mode", "ignore_case"))
        values = inputs.phrases(
            inputs.required(opts, "values", _PHRASE_FORMS), f"'values' to be {_PHRASES}"
        )
        return (
            values,
            inputs.choice(opts, "mode", _MODES, "all"),
            inputs.flag(opts, "ignore_case", False),
        )
    if isinstance(args, str | list):
        return inputs.phrases(args, _PHRASES), "all", False
    raise inputs.expected(_PHRASE_FORMS, args)


def _text_args(args: Any) -> tuple[str, bool, bool]:
    if isinstance(args, str):
        return args, False, True
    if isinstance(args, dict):
        opts = inputs.options(args, ("value", "ignore_case", "strip"))
        value = inputs.required(opts, "value", "a string or a mapping with 'value'")
        if not isinstance(value, str):
            raise inputs.expected("'value' to be a string", value)
        return value, inputs.flag(opts, "ignore_case", False), inputs.flag(opts, "strip", True)
    raise inputs.expected("a string or a mapping with 'value'", args)


def _regex_args(args: Any) -> re.Pattern[str]:
    form = "a pattern string or a mapping with 'pattern'"
    if isinstance(args, str):
        return compile_regex(inputs.text(args, "a non-empty pattern"))
    if isinstance(args, dict):
        opts = inputs.options(args, ("pattern", "ignore_case", "multiline", "dotall"))
        pattern = inputs.text(
            inputs.required(opts, "pattern", form), "'pattern' to be a non-empty string"
        )
        return compile_regex(
            pattern,
            ignore_case=inputs.flag(opts, "ignore_case", False),
            multiline=inputs.flag(opts, "multiline", False),
            dotall=inputs.flag(opts, "dotall", False),
        )
    raise inputs.expected(form, args)


def _as_tuple(values: str | Sequence[str]) -> tuple[str, ...]:
    wanted = (values,) if isinstance(values, str) else tuple(values)
    if not wanted:
        raise inputs.expected(_PHRASES, values)
    return wanted


def _find(text: str, phrase: str, ignore_case: bool) -> tuple[int, int] | None:
    if ignore_case:
        match = re.search(re.escape(phrase), text, re.IGNORECASE)
        return match.span() if match else None
    at = text.find(phrase)
    return (at, at + len(phrase)) if at >= 0 else None


def _expectation(verb: str, wanted: tuple[str, ...], quantifier: str) -> str:
    if len(wanted) == 1:
        return f"{verb} {short_repr(wanted[0])}"
    return f"{verb} {quantifier} {quote_all(wanted)}"


def _case_note(ignore_case: bool) -> str:
    return ", ignoring case" if ignore_case else ""


def _first_difference(left: str, right: str) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def _flags(ignore_case: bool, multiline: bool, dotall: bool) -> int:
    return (
        (re.IGNORECASE if ignore_case else 0)
        | (re.MULTILINE if multiline else 0)
        | (re.DOTALL if dotall else 0)
    )


def _pattern(
    pattern: str | re.Pattern[str], ignore_case: bool, multiline: bool, dotall: bool
) -> re.Pattern[str]:
    if isinstance(pattern, str):
        return compile_regex(pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall)
    extra = _flags(ignore_case, multiline, dotall)
    return re.compile(pattern.pattern, pattern.flags | extra) if extra else pattern


def _describe(pattern: re.Pattern[str]) -> str:
    flags = [name for flag, name in _FLAG_NAMES if pattern.flags & flag]
    note = f" ({', '.join(flags)})" if flags else ""
    return f"regex {_quoted(pattern.pattern)}{note}"


def _quoted(pattern: str, width: int = VALUE_WIDTH) -> str:
    """Quote a pattern as written, not as a repr: doubled backslashes would mislead."""
    shown = pattern if len(pattern) <= width else pattern[: width - 1] + ELLIPSIS
    return f"'{shown}'"
