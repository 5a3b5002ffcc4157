"""The built-in assertion types, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Sequence

from llmtest.assertions import bounds, custom, similarity, structured, text
from llmtest.assertions.base import AssertionType
from llmtest.plugins.hookspecs import hookimpl


@hookimpl
def llmtest_assertions() -> Sequence[AssertionType]:
    return [
        AssertionType("contains", text.build_contains, "the output contains the phrases"),
        AssertionType("not_contains", text.build_not_contains, "none of the phrases appear"),
        AssertionType("regex", text.build_regex, "a regular expression matches the output"),
        AssertionType("not_regex", text.build_not_regex, "a regular expression does not match"),
        AssertionType("equals", text.build_equals, "the output equals the text"),
        AssertionType("starts_with", text.build_starts_with, "the output starts with the text"),
        AssertionType("is_json", structured.build_is_json, "the output is (or holds) JSON"),
        AssertionType("json_schema", structured.build_json_schema, "the JSON fits a schema"),
        AssertionType(
            "similarity", similarity.build_similarity, "the output is close to a reference"
        ),
        AssertionType("length", bounds.build_length, "the output's length is within bounds"),
        AssertionType("latency_ms", bounds.build_latency_ms, "the answer came fast enough"),
        AssertionType("tokens", bounds.build_tokens, "token usage is within bounds"),
        AssertionType("cost", bounds.build_cost, "the answer cost at most this many US dollars"),
        AssertionType("python", custom.build_python, "a Python function of yours passes"),
    ]
