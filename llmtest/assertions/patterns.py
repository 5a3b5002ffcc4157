"""User-written regular expressions run on answers, always within a time limit.

A case file's pattern is untrusted and the answer is a model's: ``^(a|a)+$`` against forty
``a`` and a ``b`` backtracks for hours under ``re``, which cannot be interrupted and holds
the GIL. Patterns are written in ``re`` syntax and matched by the ``regex`` module in its
``re``-compatible mode (``V0``), whose matching stops at a timeout; past it the assertion
cannot decide (:class:`~llmtest.errors.UndecidedAssertion`), and the case is an *error*.
Every pattern an assertion runs on an answer goes through here: ``regex``/``not_regex``
and a JSON Schema's ``pattern`` and ``patternProperties``.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

from llmtest.errors import UndecidedAssertion

REGEX_TIMEOUT_S = 1.0
"""The time one pattern may take to search one text, in seconds; past it, an error."""


def compile_pattern(pattern: str, flags: int = 0) -> regex.Pattern[str]:
    """``pattern`` in ``re`` syntax; raises ``regex.error`` if it is not one."""
    return regex.compile(pattern, flags | regex.V0)


def bounded_search(
    pattern: regex.Pattern[str], text: str, what: Callable[[], str]
) -> regex.Match[str] | None:
    """The first match within :data:`REGEX_TIMEOUT_S`; past it, :class:`UndecidedAssertion`
    saying ``what()`` (the assertion and its pattern) took too long."""
    try:
        return pattern.search(text, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        raise UndecidedAssertion(
            f"{what()}: matching the output took longer than {REGEX_TIMEOUT_S:g} s "
            "(a pattern that backtracks catastrophically?); simplify it"
        ) from None
