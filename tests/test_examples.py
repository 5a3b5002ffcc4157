"""The examples a newcomer copies from are themselves run as tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.llm_server import FakeLLMServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The example's suite as ``make demo`` runs it, on the built-in model (assembled in the
    test session's cache folder, tests/conftest.py). Its answers are short; the
    time limits are far past any machine's speed, so that only a hang fails on them."""
    pytest_args = ["-p", "no:cacheprovider", "-rA", "--llm-timeout", "600", *args]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=EXAMPLES / name,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.mark.local_model
def test_quickstart_on_the_local_model_passes_except_its_one_explained_failure() -> None:
    pytest.importorskip("xllamacpp", reason="the quickstart runs on the 'local' extra")
    result = run_example("quickstart", "--llm-cache", "off")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 8 passed" in result.stdout
    assert "FAILED test_quickstart.llm.yaml::largest-planet-expected-failure" in result.stdout
    assert "expected output to contain 'Jupiter'" in result.stdout


@pytest.mark.local_model
def test_support_bot_answers_from_retrieved_policy_on_the_local_model() -> None:
    pytest.importorskip("xllamacpp", reason="the support bot answers on the 'local' extra")
    result = run_example("support_bot")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "17 passed, 3 skipped" in result.stdout
    for case in ("return-window", "order-json", "ignore-previous"):
        assert f"PASSED test_support.llm.yaml::{case}" in result.stdout
    assert "known defect: answers 'ACME-7Q.', leaking the internal code" in result.stdout


def test_support_bot_sends_the_retrieved_passages_to_the_model_it_is_given(
    fake_provider: FakeLLMServer,
) -> None:
    """SUPPORT_BOT_MODEL points the bot at another model (here the local fake OpenAI
    server): the request carries the policy passage retrieval found."""
    question = "How long do I have to return an item?"
    env = {
        **os.environ,
        "SUPPORT_BOT_MODEL": "openai:gpt-test",
        "OPENAI_BASE_URL": fake_provider.openai_base_url,
        "OPENAI_API_KEY": "sk-test-example",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import support_bot; print(support_bot.answer({question!r}).text)"],
        cwd=EXAMPLES / "support_bot",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"echo: {question}"
    (request,) = fake_provider.requests_for(question)
    system = request.body["messages"][0]
    assert system["role"] == "system"
    assert "Policy:\nReturns: You can return any item within 30 days" in system["content"]
    assert request.body["model"] == "gpt-test"


def test_canary_example_blocks_the_promotion_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmtest",
            "canary",
            ".",
            "--baseline",
            "current",
            "--candidate",
            "candidate",
            "--out",
            str(tmp_path / "runs"),
            "--no-history",
            "--progress",
            "none",
            "--markdown",
            str(tmp_path / "comparison.md"),
        ],
        cwd=EXAMPLES / "canary",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = (tmp_path / "comparison.md").read_text()
    assert "refund-window" in report and "weekend-hours" in report
    assert "### ❌ Confirmed regressions (1)" in report
    assert "| block_on_tags |" in report and "| max_confirmed_regressions |" in report


def test_the_tests_that_run_the_real_model_are_marked_local_model() -> None:
    """``pytest -m 'not local_model'`` leaves out every test that generates text with the
    built-in model (test files, the examples, the docs example), and only those."""
    root = EXAMPLES.parent
    files = ["tests/adapters/test_local.py", "tests/test_examples.py", "tests/test_docs.py"]
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", "local_model", *files]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *collect],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    selected = {line.split("@")[0] for line in result.stdout.splitlines() if "::" in line}
    assert {
        "tests/test_examples.py::test_support_bot_answers_from_retrieved_policy_on_the_local_model",
        "tests/test_docs.py::test_docs_example[docs/adapters.md::local-model]",
        "tests/adapters/test_local.py::test_it_answers_a_fact",
        "tests/adapters/test_local.py::"
        "test_the_engine_runs_cases_at_concurrency_sixteen_with_the_serial_answers",
    } <= selected
    assert (
        not {
            "tests/test_examples.py::test_canary_example_blocks_the_promotion_and_says_why",
            "tests/adapters/test_local.py::test_a_conversation_is_rendered_as_questions_and_answers",
            "tests/test_docs.py::test_every_directive_belongs_to_a_block",
        }
        & selected
    )
    assert all(name.startswith(tuple(files)) for name in selected)
