"""In a project with no case files and no llmtest settings the plugin costs nothing: it
makes no state, imports none of the library's stages and hooks nothing per test."""

from __future__ import annotations

import textwrap

import pytest

PROBE = """
import sys

def pytest_sessionfinish(session):
    pm = session.config.pluginmanager
    loaded = sorted(
        m for m in sys.modules
        if m.startswith(("llmtest.", "pytest_llmtest.")) or m in ("yaml", "sqlite3", "jinja2")
    )
    print("LOADED", loaded)
    print("PER-TEST HOOKS", pm.has_plugin("llmtest-items"), pm.has_plugin("llmtest-summary"))
"""


def test_a_project_without_case_files_loads_and_hooks_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PER-TEST HOOKS False False"])
    loaded = next(line for line in result.stdout.lines if "LOADED" in line)
    for heavy in ("state", "items", "engine.engine", "cases.loader", "yaml", "sqlite3", "jinja2"):
        assert heavy not in loaded, loaded


def test_a_project_with_case_files_registers_its_hooks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROBE)
    pytester.makefile(".llm.yaml", test_a="model: 'echo:'\ncases: [{id: a, prompt: hi}]")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PER-TEST HOOKS True True"])


def test_a_bad_setting_is_a_usage_error_without_any_case_file(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        textwrap.dedent("""
        [tool.llmtest]
        model = 5
    """)
    )
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*model must be a string, got 5"])
