"""Plain Python tests get the configured model through the ``llm`` fixture."""

from __future__ import annotations

import textwrap

import pytest


def test_llm_fixture_completes_a_prompt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent("""
        from llmtest import assert_contains

        def test_refund(llm):
            response = llm.complete("Items can be returned within 30 days.")
            assert_contains(response, ["30 days"])
            assert response.latency_ms is not None
            assert response.usage.output_tokens == 7
    """)
    )
    pytester.runpytest("--llm-model", "echo:").assert_outcomes(passed=1)


def test_llm_fixture_takes_messages_and_params(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        def answer(messages):
            return " | ".join(m["role"] + ":" + m["content"] for m in messages)
    """)
    )
    pytester.makepyfile(
        test_chat=textwrap.dedent("""
        def test_chat(llm):
            response = llm.complete([{"role": "user", "content": "hi"}], system="Be brief.")
            assert response.text == "system:Be brief. | user:hi"
    """)
    )
    pytester.runpytest("--llm-model", "callable:app:answer").assert_outcomes(passed=1)


def test_assert_functions_fail_with_the_same_message_as_case_files(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        textwrap.dedent("""
        from llmtest import assert_contains

        def test_shipping(llm):
            assert_contains(llm.complete("We ship worldwide."), ["2 business days"])
    """)
    )
    result = pytester.runpytest("--llm-model", "echo:")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E *llmtest.errors.LLMAssertionError: *2 business days*"])


def test_llm_fixture_without_a_model_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(llm):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["no model configured: pass --llm-model SPEC*"])
    result.stdout.no_fnmatch_line("*fixtures.py*")  # one line, not our traceback


def test_llm_fixture_model_error_fails_the_test_with_the_provider_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app="def answer(prompt):\n    raise ValueError('quota exceeded')\n")
    pytester.makepyfile(test_x="def test_x(llm):\n    llm.complete('hi')\n")
    result = pytester.runpytest("--llm-model", "callable:app:answer")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       llm.complete('hi')",  # the test's own line
            "E       Failed: model callable:app:answer gave no answer: callable 'app:answer' "
            "raised ValueError: quota exceeded",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling*")


def test_plain_tests_are_recorded_in_the_results_and_reports_like_cases(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        def answer(prompt):
            if "down" in prompt:
                raise ValueError("quota exceeded")
            return "Earth"
    """)
    )
    pytester.makepyfile(
        test_plain=textwrap.dedent("""
        import pytest

        def test_passes(llm):
            assert llm.complete("planet?").text == "Earth"

        def test_fails(llm):
            assert "Mars" in llm.complete("planet?").text

        def test_errs(llm):
            llm.complete("down")

        @pytest.mark.skip(reason="not yet")
        def test_skipped(llm):
            pass

        def test_without_the_model():
            pass
    """)
    )
    result = pytester.runpytest(
        "--llm-model", "callable:app:answer", "--llm-results", "r.jsonl", "--llm-max-retries", "0"
    )
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["* cases on callable:app:answer · 1 passed, 1 failed, 1 error ·*"])
    from llmtest.results import load_results

    records = {c.case_id: c for c in load_results(pytester.path / "r.jsonl").cases}
    assert {k: (c.suite, c.status) for k, c in records.items()} == {
        "test_passes": ("test_plain.py", "pass"),
        "test_fails": ("test_plain.py", "fail"),
        "test_errs": ("test_plain.py", "error"),
        "test_skipped": ("test_plain.py", "skip"),
    }
    fails = records["test_fails"]
    assert (fails.output, fails.model, fails.assertions[0].type) == (
        "Earth",
        "callable:app:answer",
        "python",
    )
    assert fails.assertions[0].message == "AssertionError: assert 'Mars' in 'Earth'"
    assert records["test_errs"].error is not None and "quota exceeded" in records["test_errs"].error
    assert records["test_skipped"].error == "not yet"
    from llmtest.reports import render_markdown

    report = render_markdown(load_results(pytester.path / "r.jsonl"))
    assert "test\\_fails" in report and "test\\_errs" in report
