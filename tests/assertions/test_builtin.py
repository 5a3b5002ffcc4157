"""Every built-in assertion registers through the plugin hook, like a third-party one would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import llmtest
import llmtest.assertions
from llmtest.assertions.builtin import BUILTIN
from llmtest.plugins.registry import assertion_types

CASES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "cases.md"
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


def test_budgets_measure_figures_and_the_others_scores() -> None:
    figures = {t.name for t in BUILTIN if t.measures == "figure"}
    assert figures == {"length", "latency_ms", "tokens", "cost"}
    assert {t.name for t in BUILTIN if t.number_argument} == figures


def test_every_builtin_has_its_python_helper_in_the_package() -> None:
    for declared in BUILTIN:
        helper = getattr(llmtest.assertions, declared.assert_name)
        assert helper is declared.assert_
        assert helper.__name__ == declared.assert_name


def test_assert_functions_are_reachable_from_the_top_level_package() -> None:
    assert llmtest.assert_contains("30 days", "30 days").passed
    assert "assert_similar" in dir(llmtest)


def test_the_assertions_table_of_the_docs_says_what_each_declaration_says() -> None:
    page = CASES_PAGE.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| .*? \| (.*) \|$", page, re.M))
    assert rows == {declared.name: declared.summary for declared in BUILTIN}


def test_the_docs_list_every_python_helper() -> None:
    page = CASES_PAGE.read_text(encoding="utf-8")
    full_list = page.split("The full list:")[1].split("New assertion types")[0]
    assert re.findall(r"`(assert_\w+)`", full_list) == [d.assert_name for d in BUILTIN]


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
