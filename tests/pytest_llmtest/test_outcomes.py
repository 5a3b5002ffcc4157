"""Pass, fail and error, and what a developer reads when a case does not pass."""

from __future__ import annotations

import textwrap

import pytest


def test_cases_pass_and_fail_on_their_merits(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest()
    result.assert_outcomes(passed=2, failed=1)


def test_failure_explains_what_was_expected_and_what_came_back(
    support_suite: pytest.Pytester,
) -> None:
    result = support_suite.runpytest("-k", "shipping")
    result.stdout.fnmatch_lines(
        [
            "*_ shipping _*",
            "contains: expected output to contain '2 business days' (missing: '2 business "
            "days'); got: 'We ship worldwide.'",
            "  (1 of 1 assertion failed, model echo:)",
            "*short test summary info*",
            "FAILED test_support.llm.yaml::shipping - contains: expected output to contain*",
        ]
    )
    assert "output:" not in result.stdout.str()  # the answer is shown once, in full
    assert "Traceback" not in result.stdout.str()
    assert "llmtest/" not in result.stdout.str()


def test_a_model_that_fails_is_an_error_not_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="def answer(prompt):\n    raise RuntimeError('database is down')\n")
    pytester.makefile(
        ".llm.yaml",
        test_app=textwrap.dedent("""
        model: "callable:app:answer"
        cases:
          - {id: a, prompt: hi, assert: [{contains: x}]}
          - {id: b, prompt: hi, assert: [{contains: x}]}
    """),
    )
    result = pytester.runpytest("--llm-max-retries", "0")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*model callable:app:answer gave no answer: callable 'app:answer' raised "
            "RuntimeError: database is down*",
        ]
    )
    result.stdout.fnmatch_lines(["ERROR test_app.llm.yaml::a - ModelCallFailed: model *"])


def test_an_assertion_that_cannot_decide_is_an_error_naming_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)
    pytester.makefile(
        ".llm.yaml",
        test_app=textwrap.dedent("""
        model: "echo:"
        cases:
          - id: redos
            prompt: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"
            assert: [{regex: "^(a|a)+$"}]
          - {id: fine, prompt: "hello", assert: [{contains: hello}]}
    """),
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*regex '^(a|a)+$': matching the output took longer than 0.05 s*",
            "ERROR test_app.llm.yaml::redos - AssertionUndecided: regex*",
        ]
    )


def test_no_model_configured_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".llm.yaml", test_a="cases: [{id: a, prompt: hi}]")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no model configured: pass --llm-model SPEC*"])


def test_command_line_model_wins_over_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="def shout(prompt):\n    return prompt.upper()\n")
    pytester.makefile(
        ".llm.yaml",
        test_a=textwrap.dedent("""
        model: "echo:"
        cases: [{id: a, prompt: hi, assert: [{equals: HI}]}]
    """),
    )
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED
    pytester.runpytest("--llm-model", "callable:app:shout").assert_outcomes(passed=1)


def test_model_alias_from_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="def shout(prompt):\n    return prompt.upper()\n")
    pytester.makepyprojecttoml(
        textwrap.dedent("""
        [tool.llmtest]
        model = "loud"

        [tool.llmtest.models.loud]
        adapter = "callable"
        model = "app:shout"
    """)
    )
    pytester.makefile(".llm.yaml", test_a="cases: [{id: a, prompt: hi, assert: [{equals: HI}]}]")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 case on loud · 1 passed, 0 failed, 0 errors*"])


def test_repeat_passes_when_the_pass_rate_is_met(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        import itertools
        _answers = itertools.cycle(["yes", "yes", "no"])
        def flaky(prompt):
            return next(_answers)
    """)
    )
    pytester.makefile(
        ".llm.yaml",
        test_a=textwrap.dedent("""
        model: "callable:app:flaky"
        cases:
          - {id: lenient, prompt: hi, repeat: 3, min_pass_rate: 0.6, assert: [{equals: "yes"}]}
    """),
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_repeat_fails_below_the_pass_rate_and_shows_each_attempt(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        import threading
        _lock = threading.Lock()
        _count = [0]
        def flaky(prompt):
            with _lock:
                _count[0] += 1
                return "yes" if _count[0] % 2 else "no"
    """)
    )
    pytester.makefile(
        ".llm.yaml",
        test_a=textwrap.dedent("""
        model: "callable:app:flaky"
        cases:
          - {id: strict, prompt: hi, repeat: 4, assert: [{equals: "yes"}]}
    """),
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "pass rate 2/4, needed 1.00: equals: *",
            "  attempt *: equals: *",
            "  attempt *: equals: *",
            "  (2 of 4 attempts passed, model callable:app:flaky)",
        ]
    )


def test_skip_in_the_case_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".llm.yaml", test_a="model: 'echo:'\ncases: [{id: a, prompt: hi, skip: later}]"
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*later"])


def test_the_summary_counts_attempts_not_calls_and_says_one_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key: the attempt errs before any request leaves, so "1 call" would be untrue.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makefile(
        ".llm.yaml", test_a="model: 'openai:gpt-4o-mini'\ncases: [{id: a, prompt: hi}]\n"
    )
    result = pytester.runpytest("--llm-max-retries", "0")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["1 case on openai:gpt-4o-mini · 0 passed, 0 failed, 1 error · 1 attempt, 0 retries*"]
    )
