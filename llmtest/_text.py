"""Text from outside (case files, model answers, provider errors) as a terminal may show it.
Cheap to import: every command and the plugin print through it."""

from __future__ import annotations

import re

from llmtest.config.secrets import Redactor

_CONTROL = re.compile(
    # C0 and C1 controls but newline and tab (ESC starts ANSI and OSC sequences, \r and \b
    # rewrite what is already on the line), and the bidirectional overrides.
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def escape_controls(text: str) -> str:
    """``text`` with every control character written as its escape (``\\x1b``), so that
    what a model or a server sent cannot move the cursor, recolour or retitle a terminal."""
    return _CONTROL.sub(lambda found: ascii(found.group())[1:-1], text)


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a control character (see :func:`escape_controls`)."""
    return _CONTROL.search(text) is not None


def shown(text: str) -> str:
    """Text from outside (a model's answer, a provider's error) as a terminal line may show
    it: every known secret masked, every control character escaped."""
    return escape_controls(Redactor().fragments(text))


def plural(count: int, word: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """``1 case``, ``2 cases`` (``grouped``: ``1,200 characters``). Every count written next
    to its noun goes through here, so nothing says ``1 errors``."""
    shown = f"{count:,}" if grouped else str(count)
    return f"{shown} {word if count == 1 else plural or word + 's'}"
