"""``{{var}}`` substitution: deliberately tiny, so nothing in a case file is ever executed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmtest.config.limits import MAX_TEXT_CHARS

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


class UnknownVariable(KeyError):
    def __init__(self, name: str, known: Mapping[str, Any]) -> None:
        super().__init__(name)
        self.name = name
        self.known = sorted(known)

    def __str__(self) -> str:
        known = ", ".join(self.known) or "none defined"
        return f"unknown variable '{{{{{self.name}}}}}' (vars: {known})"


class RenderedTooLong(UnknownVariable):
    """A rendering that would be longer than :data:`~llmtest.config.limits.MAX_TEXT_CHARS`:
    50,000 ``{{a}}`` of a 500 KB ``a`` ask for 25 GB. Refused before the text is joined.

    An :class:`UnknownVariable` only so that whatever reports a bad placeholder (the loader
    names the file, line, case and field) reports this one too, in the same line."""

    def __init__(self, name: str, limit: int) -> None:
        KeyError.__init__(self, name)
        self.name = name
        self.known = []
        self.limit = limit

    def __str__(self) -> str:
        return (
            f"'{{{{{self.name}}}}}' makes the rendered text longer than {self.limit:,} "
            "characters (the limit)"
        )


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    value: Any = variables
    for part in name.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            raise UnknownVariable(name, variables)
    return value


def render(text: str, variables: Mapping[str, Any], limit: int = MAX_TEXT_CHARS) -> str:
    """Replace each ``{{name}}`` (or ``{{name.field}}``) with its value. The result is at
    most ``limit`` characters long, else :class:`RenderedTooLong` is raised as soon as the
    text so far is over it (the pieces are joined only at the end)."""
    if "{{" not in text:
        return text
    grown = 0  # how much longer than ``text`` the rendering is so far

    def substitute(match: re.Match[str]) -> str:
        nonlocal grown
        value = _lookup(match.group(1), variables)
        rendered = value if isinstance(value, str) else _to_text(value)
        grown += len(rendered) - (match.end() - match.start())
        if match.end() + grown > limit:  # the rendered text up to here
            raise RenderedTooLong(match.group(1), limit)
        return rendered

    result = _PLACEHOLDER.sub(substitute, text)
    if len(result) > limit:  # the text after the last placeholder did it
        raise RenderedTooLong(_PLACEHOLDER.findall(text)[-1], limit)
    return result


def render_value(value: Any, variables: Mapping[str, Any], limit: int = MAX_TEXT_CHARS) -> Any:
    """Render every string inside a nested value (assertion arguments, messages); the
    strings it renders are at most ``limit`` characters in all (see :func:`render`)."""
    if isinstance(value, str):
        return render(value, variables, limit)
    if isinstance(value, list | dict):
        return _render_inside(value, variables, [limit], limit)
    return value


def _render_inside(value: Any, variables: Mapping[str, Any], left: list[int], limit: int) -> Any:
    """``left``: how many characters the value's renderings may still produce. Recursive:
    values from case files are at most MAX_DEPTH deep (see llmtest/config/limits.py)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        try:
            rendered = render(value, variables, left[0])
        except RenderedTooLong as exc:  # named with the whole value's limit
            raise RenderedTooLong(exc.name, limit) from None
        left[0] -= len(rendered)
        return rendered
    if isinstance(value, list):
        return [_render_inside(v, variables, left, limit) for v in value]
    if isinstance(value, dict):
        return {k: _render_inside(v, variables, left, limit) for k, v in value.items()}
    return value


def _to_text(value: Any) -> str:
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
