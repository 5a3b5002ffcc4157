"""``llmtest.connect``: the project's models from any Python code, sync and async."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import llmtest
from llmtest.errors import ConfigError, ModelCallError
from tests.support.llm_server import FakeLLMServer


@pytest.fixture
def project(tmp_path: Path, fake_provider: FakeLLMServer) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.llmtest]\n"
        'model = "bot"\n'
        "[tool.llmtest.models.bot]\n"
        'adapter = "openai"\n'
        'model = "m"\n'
        f'base_url = "{fake_provider.openai_base_url}"\n'
        'system = "Be brief."\n'
        "[tool.llmtest.models.broken]\n"
        'adapter = "openai"\n'
        'model = "status-400"\n'
        f'base_url = "{fake_provider.openai_base_url}"\n'
    )
    (tmp_path / "app").mkdir()
    return tmp_path


def test_the_default_model_answers_a_prompt(project: Path) -> None:
    with llmtest.connect(project=project / "app") as client:
        response = client.complete("hello")
    assert response.text == "echo: hello"
    assert client.model.name == "bot"


def test_the_alias_system_prompt_is_sent(project: Path, fake_provider: FakeLLMServer) -> None:
    with llmtest.connect("bot", project=project) as client:
        client.complete("with system")
    (request,) = fake_provider.requests_for("with system")
    assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_spec_string_needs_no_alias(project: Path, fake_provider: FakeLLMServer) -> None:
    with llmtest.connect("echo:", project=project) as client:
        assert client.complete("plain").text == "plain"


def test_acomplete_awaits_inside_another_event_loop(project: Path) -> None:
    async def main() -> list[str]:
        with llmtest.connect(project=project) as client:
            answers = await asyncio.gather(*(client.acomplete(f"q{i}") for i in range(5)))
        return [a.text for a in answers]

    assert asyncio.run(main()) == [f"echo: q{i}" for i in range(5)]


def test_one_client_serves_many_threads(project: Path) -> None:
    answers: dict[int, str] = {}
    with llmtest.connect(project=project) as client:

        def ask(i: int) -> None:
            answers[i] = client.complete(f"t{i}").text

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == {i: f"echo: t{i}" for i in range(8)}


def test_a_failed_call_raises_with_the_provider_message(project: Path) -> None:
    with (
        llmtest.connect("broken", project=project) as client,
        pytest.raises(ModelCallError, match=r"HTTP 400: "),
    ):
        client.complete("fail")


def test_no_model_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmtest]\n")
    with pytest.raises(ConfigError, match=r"connect\(\) needs a model: pass one such as"):
        llmtest.connect(project=tmp_path)


def test_an_unknown_alias_names_the_project_file(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'nope': not an alias in "):
        llmtest.connect("nope", project=project)
