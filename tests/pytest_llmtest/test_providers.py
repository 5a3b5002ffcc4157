"""Suites against the real OpenAI and Anthropic SDK clients, pointed at a local server."""

from __future__ import annotations

import textwrap

import pytest

from tests.support.llm_server import FakeLLMServer

PROVIDERS = ["openai", "anthropic"]


def project(pytester: pytest.Pytester, server: FakeLLMServer, provider: str, model: str) -> None:
    pytester.makepyprojecttoml(
        textwrap.dedent(f"""
        [tool.llmtest.models.bot]
        adapter = "{provider}"
        model = "{model}"
        base_url = "{server.base_url_for(provider)}"
        max_retries = 1
        timeout_s = 2
    """)
    )
    pytester.makefile(
        ".llm.yaml",
        test_bot=textwrap.dedent("""
        model: bot
        system: "You are terse."
        cases:
          - id: answers
            prompt: "What is the capital of France?"
            assert:
              - contains: ["capital of France"]
          - id: wrong
            prompt: "What is 2+2?"
            assert:
              - contains: ["5"]
    """),
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_answers_pass_and_fail_on_their_merits(
    pytester: pytest.Pytester, fake_provider: FakeLLMServer, provider: str
) -> None:
    project(pytester, fake_provider, provider, "geo")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["contains: expected output to contain '5' (missing: '5'); got: 'echo: What is 2+2?'"]
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_http_500_is_an_error_with_the_provider_message(
    pytester: pytest.Pytester, fake_provider: FakeLLMServer, provider: str
) -> None:
    project(pytester, fake_provider, provider, "status-500")
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [f"*model bot gave no answer: {provider} model 'status-500'*HTTP 500*"]
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_body_is_an_error_with_a_clear_message(
    pytester: pytest.Pytester, fake_provider: FakeLLMServer, provider: str
) -> None:
    project(pytester, fake_provider, provider, "malformed")
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*the server sent a malformed response*"])
    assert "Traceback" not in result.stdout.str()


def test_api_key_never_reaches_the_report(
    pytester: pytest.Pytester, fake_provider: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-4242")
    project(pytester, fake_provider, "openai", "status-401")
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(errors=2)
    assert "SECRET-4242" not in result.stdout.str()
    assert "SECRET-4242" not in (pytester.path / "out.xml").read_text()
