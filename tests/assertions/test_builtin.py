"""Every built-in assertion registers through the plugin hook, like a third-party one would."""

from __future__ import annotations

import subprocess
import sys

import llmtest
from llmtest.plugins.registry import assertion_types

BUILTIN_NAMES = {
    "contains",
    "not_contains",
    "regex",
    "not_regex",
    "equals",
    "starts_with",
    "is_json",
    "json_schema",
    "similarity",
    "length",
    "latency_ms",
    "tokens",
    "cost",
    "python",
}


def test_every_builtin_assertion_is_registered() -> None:
    types = assertion_types()
    assert set(types) >= BUILTIN_NAMES
    assert all(types[name].name == name and types[name].summary for name in BUILTIN_NAMES)


def test_assert_functions_are_reachable_from_the_top_level_package() -> None:
    assert llmtest.assert_contains("30 days", "30 days").passed
    assert "assert_similar" in dir(llmtest)


def test_importing_the_assertions_stays_light() -> None:
    code = (
        "import sys, llmtest.assertions\n"
        "heavy = ['openai', 'anthropic', 'jsonschema', 'rapidfuzz']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
