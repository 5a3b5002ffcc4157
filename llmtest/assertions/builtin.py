"""The built-in assertion types, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmtest.assertions import bounds, custom, similarity, structured, text
from llmtest.assertions.base import AssertionType
from llmtest.assertions.declaration import Assertion
from llmtest.plugins.hookspecs import hookimpl

BUILTIN: tuple[Assertion[Any], ...] = (
    text.contains,
    text.not_contains,
    text.regex,
    text.not_regex,
    text.equals,
    text.starts_with,
    structured.is_json,
    structured.json_schema,
    similarity.similarity,
    bounds.length,
    bounds.latency_ms,
    bounds.tokens,
    bounds.cost,
    custom.python,
)


@hookimpl
def llmtest_assertions() -> Sequence[AssertionType]:
    return BUILTIN
