"""Case files become pytest items, one per case, named after the case id."""

from __future__ import annotations

import json
import textwrap

import pytest


def test_every_case_is_one_item(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "test_support.llm.yaml::refund-window",
            "test_support.llm.yaml::shipping",
            "test_support.llm.yaml::greeting",
            "3 tests collected*",
        ]
    )


def test_jsonl_and_csv_files_are_collected(pytester: pytest.Pytester) -> None:
    pytester.makefile(".llm.jsonl", test_lib=json.dumps({"id": "j1", "input": "hi"}))
    pytester.makefile(".llm.csv", test_table="id,prompt\nc1,hello\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_lib.llm.jsonl::j1", "test_table.llm.csv::c1"])


def test_llmtest_files_ini_changes_the_patterns(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmtest_files = *.cases.yaml\n")
    pytester.makefile(".cases.yaml", suite="cases: [{id: only, prompt: hi}]")
    pytester.makefile(".llm.yaml", test_ignored="cases: [{id: ignored, prompt: hi}]")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["suite.cases.yaml::only", "1 test collected*"])


def test_plugin_is_inert_without_case_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "llmtest summary" not in result.stdout.str()


def test_collect_only_does_not_import_provider_sdks(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".llm.yaml", test_a="model: 'openai:gpt-4o-mini'\ncases: [{id: a, prompt: hi}]"
    )
    pytester.makeconftest(
        textwrap.dedent("""
        import sys
        def pytest_collection_finish(session):
            loaded = sorted(m for m in ("openai", "anthropic") if m in sys.modules)
            print("SDKS LOADED:", loaded)
    """)
    )
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-s")
    result.stdout.fnmatch_lines(["SDKS LOADED: []"])


def test_bad_case_file_is_a_one_line_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".llm.yaml",
        test_bad=textwrap.dedent("""
        cases:
          - id: refund-window
            prompt: hi
            assert:
              - contains: 5
    """),
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad.llm.yaml*",
            "test_bad.llm.yaml:5: case 'refund-window': assertion 'contains' *got 5",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_unknown_model_alias_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".llm.yaml",
        test_alias=textwrap.dedent("""
        cases:
          - id: a
            prompt: hi
            model: support-bto
    """),
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "test_alias.llm.yaml:2: case 'a': field 'model': unknown model 'support-bto'*",
        ]
    )


def test_unknown_model_on_the_command_line_is_a_usage_error(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest("--llm-model", "nonsense")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-model: unknown model 'nonsense'*not an adapter (*echo*local*openai*)*"]
    )


def test_a_provider_spec_without_a_model_name_is_a_collection_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".llm.yaml", test_a="model: 'openai:'\ncases: [{id: a, prompt: hi}]")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["test_a.llm.yaml:1: field 'model': openai: the openai adapter needs a model name: *"]
    )


def test_a_bare_adapter_name_is_its_default_model(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest("--llm-model", "echo")
    result.stdout.fnmatch_lines(["*3 cases on echo · *"])


def test_tags_are_registered_markers_under_strict_markers(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest("--strict-markers", "-m", "critical")
    result.assert_outcomes(passed=1, deselected=2)


def test_broken_llmtest_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.llmtest]\nmodel = 5\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyproject.toml: ?tool.llmtest? model must be a string, got 5"])


def test_a_file_without_cases_is_named_in_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makefile(".llm.yaml", test_empty="cases: []\n")
    result = pytester.runpytest("-W", "default::pytest.PytestWarning")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*PytestWarning: test_empty.llm.yaml: the file has no cases"])
