"""Assertions on the words of the answer: phrases, patterns, exact text, how it starts.

Each pair (``contains`` and ``not_contains``, ``equals`` and ``starts_with``, ``regex`` and
``not_regex``) takes the same arguments, so a pair shares the half of its factory that reads
them and differs in the verdict.

Patterns are matched within a time limit (see :mod:`llmtest.assertions.patterns`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Literal, NamedTuple

import regex as regex_module

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import PHRASES, TEXT, FlagArg, OneOf, Text, expected
from llmtest.assertions.base import Verdict
from llmtest.assertions.declaration import Shorthand, assertion, prepared_by
from llmtest.assertions.excerpt import ELLIPSIS, VALUE_WIDTH, excerpt, quote_all, short_repr
from llmtest.assertions.patterns import bounded_search, compile_pattern
from llmtest.errors import AssertionSpecError

Mode = Literal["all", "any"]
_MODES: tuple[Mode, ...] = ("all", "any")
_FLAG_NAMES = (
    (regex_module.IGNORECASE, "ignore_case"),
    (regex_module.MULTILINE, "multiline"),
    (regex_module.DOTALL, "dotall"),
)
# A compiled ``re`` pattern's flags as ``regex`` numbers them (their ASCII flags differ).
_RE_FLAGS = (
    (re.IGNORECASE, regex_module.IGNORECASE),
    (re.MULTILINE, regex_module.MULTILINE),
    (re.DOTALL, regex_module.DOTALL),
    (re.VERBOSE, regex_module.VERBOSE),
    (re.ASCII, regex_module.ASCII),
    (re.UNICODE, regex_module.UNICODE),
)
_PHRASES_FORM = Shorthand("values", "a string, a list of strings", accepts=(str, list))
_TEXT_FORM = Shorthand("value", "a string", accepts=(str,))
_PATTERN_FORM = Shorthand(
    "pattern", "a pattern string", accepts=(str,), invalid="a non-empty pattern"
)


class _Phrases(NamedTuple):
    wanted: tuple[str, ...]
    mode: Mode
    ignore_case: bool


class _Text(NamedTuple):
    value: str
    ignore_case: bool
    strip: bool


def _phrases(
    values: Annotated[str | Sequence[str], PHRASES],
    *,
    mode: Annotated[Mode, OneOf(_MODES)] = "all",
    ignore_case: FlagArg = False,
) -> _Phrases:
    """The phrases to look for; matching is by substring, case-sensitive unless asked."""
    wanted = (values,) if isinstance(values, str) else tuple(values)
    if not wanted:
        raise expected(PHRASES.what, values)
    return _Phrases(wanted, mode, ignore_case)


@assertion(summary="the output contains all (or any) values", shorthand=_PHRASES_FORM)
@prepared_by(_phrases)
def contains(phrases: _Phrases, response: Response) -> Verdict:
    """Score is the fraction of the phrases found; ``mode="any"`` needs just one of them."""
    text, (wanted, mode, ignore_case) = response.text, phrases
    present = [v for v in wanted if _find(text, v, ignore_case) is not None]
    missing = [v for v in wanted if v not in present]
    passed = not missing if mode == "all" else bool(present)
    score = len(present) / len(wanted)
    if passed:
        return Verdict(True, score, f"found {quote_all(present)}")
    expectation = _expectation("contain", wanted, "all of" if mode == "all" else "any of")
    missed = f"(missing: {quote_all(missing)})"
    return _unexpected(f"to {expectation}{_case_note(ignore_case)} {missed}", excerpt(text), score)


@assertion(summary="none of the values appears", shorthand=_PHRASES_FORM)
@prepared_by(_phrases)
def not_contains(phrases: _Phrases, response: Response) -> Verdict:
    """``mode="all"``: none of the phrases may appear; ``mode="any"``: not all of them together.

    Score is the fraction of the phrases absent. A failure shows the first one found in context.
    """
    text, (wanted, mode, ignore_case) = response.text, phrases
    spans = {v: span for v in wanted if (span := _find(text, v, ignore_case)) is not None}
    present = [v for v in wanted if v in spans]
    passed = not present if mode == "all" else len(present) < len(wanted)
    score = 1 - len(present) / len(wanted)
    if passed:
        absent = [v for v in wanted if v not in spans]
        return Verdict(True, score, f"not found: {quote_all(absent)}")
    expectation = _expectation("contain", wanted, "any of" if mode == "all" else "all of")
    found = f"(found: {quote_all(present)})"
    shown = excerpt(text, around=min(spans.values()))
    return _unexpected(f"not to {expectation}{_case_note(ignore_case)} {found}", shown, score)


def _text(
    value: Annotated[str, TEXT], *, ignore_case: FlagArg = False, strip: FlagArg = True
) -> _Text:
    """The text the output is compared with."""
    return _Text(value, ignore_case, strip)


@assertion(summary="the output equals the text (stripped by default)", shorthand=_TEXT_FORM)
@prepared_by(_text)
def equals(given: _Text, response: Response) -> Verdict:
    """Whole-answer equality; ``strip`` forgives the whitespace models add around answers."""
    actual, want, left, right = _sides(given, response.text, str.strip)
    if left == right:
        return Verdict(True, None, f"output equals {excerpt(want)}")
    at = _first_difference(left, right)
    expectation = f"to equal {excerpt(want, around=at)}{_case_note(given.ignore_case)}"
    return _unexpected(
        expectation, f"{excerpt(actual, around=at)} (first difference at character {at})"
    )


@assertion(summary="the output starts with the text", shorthand=_TEXT_FORM)
@prepared_by(_text)
def starts_with(given: _Text, response: Response) -> Verdict:
    """``strip`` ignores leading whitespace, which models often emit before the first word."""
    actual, want, left, right = _sides(given, response.text, str.lstrip)
    if left.startswith(right):
        return Verdict(True, None, f"output starts with {short_repr(want)}")
    expectation = f"to start with {short_repr(want)}{_case_note(given.ignore_case)}"
    return _unexpected(expectation, excerpt(actual))


def compile_regex(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> regex_module.Pattern[str]:
    """Compile once, when the case is loaded, so a broken pattern is a load error."""
    return _compiled(pattern, _flags(ignore_case, multiline, dotall))


def _compiled(pattern: str, flags: int) -> regex_module.Pattern[str]:
    try:
        return compile_pattern(pattern, flags)
    except regex_module.error as exc:
        raise AssertionSpecError(f"invalid regex {_quoted(pattern, len(pattern))}: {exc}") from None


def _pattern(
    pattern: Annotated[
        str | re.Pattern[str] | regex_module.Pattern[str],
        Text("a non-empty string", non_empty=True),
    ],
    *,
    ignore_case: FlagArg = False,
    multiline: FlagArg = False,
    dotall: FlagArg = False,
) -> regex_module.Pattern[str]:
    """The pattern searched for: the flags add to a compiled pattern's own (``re`` or
    ``regex``; an ``re`` pattern is compiled again, as ``regex`` matches within a time limit)."""
    if isinstance(pattern, str):
        return compile_regex(pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall)
    extra = _flags(ignore_case, multiline, dotall)
    if isinstance(pattern, re.Pattern):
        own = sum(ours for theirs, ours in _RE_FLAGS if pattern.flags & theirs)
        return _compiled(pattern.pattern, own | extra)
    return _compiled(pattern.pattern, pattern.flags | extra) if extra else pattern


@assertion(summary="the pattern is found anywhere in the output", shorthand=_PATTERN_FORM)
@prepared_by(_pattern)
def regex(pattern: regex_module.Pattern[str], response: Response) -> Verdict:
    """A search anywhere in the output; anchor the pattern with ``^`` and ``$``."""
    text = response.text
    match = _search(pattern, text, "regex")
    if match is not None:
        message = f"matched {short_repr(match.group(0))} at character {match.start()}"
        return Verdict(True, None, message)
    return _unexpected(f"to match {_describe(pattern)}", excerpt(text))


@assertion(summary="the pattern is found nowhere in the output", shorthand=_PATTERN_FORM)
@prepared_by(_pattern)
def not_regex(pattern: regex_module.Pattern[str], response: Response) -> Verdict:
    """Fails on the first match, shown in its context."""
    text = response.text
    match = _search(pattern, text, "not_regex")
    if match is None:
        return Verdict(True, None, f"no match for {_describe(pattern)}")
    matched = f"(matched: {short_repr(match.group(0))})"
    return _unexpected(
        f"not to match {_describe(pattern)} {matched}", excerpt(text, around=match.span())
    )


check_contains, assert_contains = contains.check, contains.assert_
check_not_contains, assert_not_contains = not_contains.check, not_contains.assert_
check_equals, assert_equals = equals.check, equals.assert_
check_starts_with, assert_starts_with = starts_with.check, starts_with.assert_
check_regex, assert_regex = regex.check, regex.assert_
check_not_regex, assert_not_regex = not_regex.check, not_regex.assert_


def _search(
    pattern: regex_module.Pattern[str], text: str, name: str
) -> regex_module.Match[str] | None:
    """The first match; an assertion ``name`` that cannot decide in time says so."""
    return bounded_search(
        pattern, text, lambda: f"{name} {_quoted(pattern.pattern)}{_flag_note(pattern)}"
    )


def _unexpected(expectation: str, got: str, score: float | None = None) -> Verdict:
    """A failure: what the output was expected to do, and (an excerpt of) what came back."""
    return Verdict(False, score, f"expected output {expectation}; got: {got}")


def _sides(given: _Text, output: str, trim: Callable[[str], str]) -> tuple[str, str, str, str]:
    """The output and the text as messages show them, then as they are compared."""
    actual, want = (trim(output), trim(given.value)) if given.strip else (output, given.value)
    if given.ignore_case:
        return actual, want, actual.casefold(), want.casefold()
    return actual, want, actual, want


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
        (regex_module.IGNORECASE if ignore_case else 0)
        | (regex_module.MULTILINE if multiline else 0)
        | (regex_module.DOTALL if dotall else 0)
    )


def _describe(pattern: regex_module.Pattern[str]) -> str:
    return f"regex {_quoted(pattern.pattern)}{_flag_note(pattern)}"


def _flag_note(pattern: regex_module.Pattern[str]) -> str:
    flags = [name for flag, name in _FLAG_NAMES if pattern.flags & flag]
    return f" ({', '.join(flags)})" if flags else ""


def _quoted(pattern: str, width: int = VALUE_WIDTH) -> str:
    """Quote a pattern as written, not as a repr: doubled backslashes would mislead."""
    shown = pattern if len(pattern) <= width else pattern[: width - 1] + ELLIPSIS
    return f"'{shown}'"
