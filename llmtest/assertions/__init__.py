"""Assertions for LLM outputs: the ``assert_*`` functions for Python tests, and the checks
case files use. Each ``assert_*`` raises :class:`~llmtest.errors.LLMAssertionError` with the
same message the case-file assertion of that name reports."""

from __future__ import annotations

from llmtest.assertions.bounds import (
    assert_cost,
    assert_latency_ms,
    assert_length,
    assert_tokens,
    check_cost,
    check_latency_ms,
    check_length,
    check_tokens,
)
from llmtest.assertions.custom import (
    PythonCheck,
    assert_python,
    check_python,
    load_function,
    prepare_python,
)
from llmtest.assertions.excerpt import excerpt
from llmtest.assertions.similarity import assert_similar, check_similarity, similarity_score
from llmtest.assertions.structured import (
    CompiledSchema,
    ExtractedJSON,
    assert_is_json,
    assert_json_schema,
    check_is_json,
    check_json_schema,
    compile_schema,
    extract_json,
)
from llmtest.assertions.text import (
    assert_contains,
    assert_equals,
    assert_not_contains,
    assert_not_regex,
    assert_regex,
    assert_starts_with,
    check_contains,
    check_equals,
    check_not_contains,
    check_not_regex,
    check_regex,
    check_starts_with,
    compile_regex,
)

__all__ = [
    "CompiledSchema",
    "ExtractedJSON",
    "PythonCheck",
    "assert_contains",
    "assert_cost",
    "assert_equals",
    "assert_is_json",
    "assert_json_schema",
    "assert_latency_ms",
    "assert_length",
    "assert_not_contains",
    "assert_not_regex",
    "assert_python",
    "assert_regex",
    "assert_similar",
    "assert_starts_with",
    "assert_tokens",
    "check_contains",
    "check_cost",
    "check_equals",
    "check_is_json",
    "check_json_schema",
    "check_latency_ms",
    "check_length",
    "check_not_contains",
    "check_not_regex",
    "check_python",
    "check_regex",
    "check_similarity",
    "check_starts_with",
    "check_tokens",
    "compile_regex",
    "compile_schema",
    "excerpt",
    "extract_json",
    "load_function",
    "prepare_python",
    "similarity_score",
]
