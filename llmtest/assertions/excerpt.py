"""Short, single-line views of long text, so failure messages stay readable in a terminal.

A cut can leave part of a secret that an answer echoed (the whole one is masked wherever a
message is written, a piece of it would not be), so what is kept of a cut text has the
pieces of known secrets masked first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from llmtest.config.secrets import Redactor

EXCERPT_WIDTH = 160
VALUE_WIDTH = 60
ELLIPSIS = "…"

_WHITESPACE = re.compile(r"\s+")


def excerpt(
    text: str, around: int | tuple[int, int] | None = None, width: int = EXCERPT_WIDTH
) -> str:
    """Quote at most ``width`` characters of ``text`` on one line, marking cuts with '…'.

    Runs of whitespace become one space. ``around`` is a position or a (start, end) span
    in ``text``: the window is centred on it, so a message can show a match in context.
    """
    flat = _flatten(text)
    if len(flat) <= width:
        return repr(flat)
    start = 0
    if around is not None:
        first, last = (around, around) if isinstance(around, int) else around
        span_start, span_end = len(_flatten(text[:first])), len(_flatten(text[:last]))
        if span_end - span_start >= width:
            start = span_start
        else:
            start = (span_start + span_end) // 2 - width // 2
        start = max(0, min(start, len(flat) - width))
    end = start + width
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(flat) else ""
    return repr(head + _kept(flat[start:end]) + tail)


def short_repr(value: Any, width: int = VALUE_WIDTH) -> str:
    """The repr of a value from a case file or a test, cut to ``width`` characters.

    Strings are cut before quoting, so the quotes survive and the reader still sees a string.
    """
    if isinstance(value, str):
        if len(value) <= width:
            return repr(value)
        return repr(_kept(value[: width - 1]) + ELLIPSIS)
    text = repr(value)
    return text if len(text) <= width else _kept(text[: width - 1]) + ELLIPSIS


def _kept(piece: str) -> str:
    """What a cut keeps, with any piece of a known secret in it masked."""
    return Redactor().fragments(piece)


def quote_all(values: Iterable[str]) -> str:
    """``'a', 'b', 'c'``: several phrases as a message names them."""
    return ", ".join(short_repr(v) for v in values)


def _flatten(text: str) -> str:
    return _WHITESPACE.sub(" ", text)
