"""``{{var}}`` substitution: deliberately tiny, so nothing in a case file is ever executed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


class UnknownVariable(KeyError):
    def __init__(self, name: str, known: Mapping[str, Any]) -> None:
        super().__init__(name)
        self.name = name
        self.known = sorted(known)

    def __str__(self) -> str:
        known = ", ".join(self.known) or "none defined"
        return f"unknown variable '{{{{{self.name}}}}}' (vars: {known})"


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    value: Any = variables
    for part in name.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            raise UnknownVariable(name, variables)
    return value


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Replace each ``{{name}}`` (or ``{{name.field}}``) with its value."""
    if "{{" not in text:
        return text

    def substitute(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), variables)
        return value if isinstance(value, str) else _to_text(value)

    return _PLACEHOLDER.sub(substitute, text)


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a nested value (assertion arguments, messages)."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, variables) for k, v in value.items()}
    return value


def _to_text(value: Any) -> str:
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
