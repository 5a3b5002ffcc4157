"""``replay:FOLDER`` answers from cassettes recorded against a real (local) provider.

Recording runs the real engine and OpenAI adapter against a FakeLLMServer; replay then
runs with the server still up, to show it is never asked. A replayed run is the recorded
run: every attempt of a case gets the answer that attempt got when recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Message, Request, Response
from llmtest.adapters.layers import wrap_layers
from llmtest.adapters.layers.cassettes import CassetteRecorder
from llmtest.adapters.replay import ReplayAdapter
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig, ProjectConfig
from llmtest.engine.engine import Engine, Execution, Job
from llmtest.errors import ConfigError, ModelCallError
from llmtest.plugins.registry import adapter_factories, adapter_factory
from tests.support.llm_server import FakeLLMServer

PROMPTS = ["How long do I have to return an item?", "Do you ship to Canada?", "Hi"]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after=0) as server:
        yield server


def user(prompt: str) -> list[Message]:
    return [{"role": "user", "content": prompt}]


def openai_model(server: FakeLLMServer, **fields: Any) -> ModelConfig:
    return ModelConfig(
        name="openai:gpt-4o-mini",
        adapter="openai",
        model="gpt-4o-mini",
        base_url=server.url,
        **fields,
    )


def replay_model(
    folder: str = "cassettes", root: Path | None = None, **options: Any
) -> ModelConfig:
    return ModelConfig(
        name=f"replay:{folder}",
        adapter="replay",
        model=folder,
        root=str(root) if root is not None else None,
        options=options,
    )


def complete_all(model: ModelConfig, prompts: list[str], **params: Any) -> list[Response]:
    """Each prompt through the engine, as a front end runs it."""
    engine = Engine()
    try:
        return [engine.complete(model, user(p), params) for p in prompts]
    finally:
        engine.close()


def record(model: ModelConfig, folder: Path, prompts: list[str], **params: Any) -> list[Response]:
    recorder = CassetteRecorder(folder)
    engine = Engine(wrap_adapter=wrap_layers(cache=None, cache_mode="off", recorder=recorder))
    try:
        return [engine.complete(model, user(p), params) for p in prompts]
    finally:
        engine.close()


def replay_error(model: ModelConfig, prompt: str, **params: Any) -> ModelCallError:
    adapter = ReplayAdapter(model)
    with pytest.raises(ModelCallError) as excinfo:
        asyncio.run(adapter.complete(Request(messages=user(prompt), params=params)))
    return excinfo.value


def test_replay_gives_the_recorded_texts_without_calling_the_server(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    recorded = record(openai_model(server), tmp_path / "cassettes", PROMPTS, temperature=0)
    server.clear()
    replayed = complete_all(replay_model(root=tmp_path), PROMPTS, temperature=0)
    assert [r.text for r in replayed] == [r.text for r in recorded]
    assert server.requests == []


def test_replay_returns_the_recorded_usage_model_and_latency(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    (recorded,) = record(openai_model(server), tmp_path / "cassettes", ["Hi"])
    (replayed,) = complete_all(replay_model(root=tmp_path), ["Hi"])
    assert (replayed.model, replayed.usage, replayed.finish_reason) == (
        recorded.model,
        recorded.usage,
        recorded.finish_reason,
    )
    assert replayed.latency_ms == pytest.approx(recorded.latency_ms, abs=0.05)
    assert Path(replayed.raw["cassette"]).parent == tmp_path / "cassettes"


def test_replay_is_a_builtin_adapter_name() -> None:
    config = ProjectConfig().resolve_model("replay:cassettes/", adapter_factories())
    assert isinstance(adapter_factory("replay")(config), ReplayAdapter)


def test_a_relative_folder_is_found_from_the_project_root(tmp_path: Path) -> None:
    assert ReplayAdapter(replay_model("recorded/", root=tmp_path)).folder == (tmp_path / "recorded")


def test_a_request_never_recorded_names_the_closest_recorded_prompt(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    record(openai_model(server), tmp_path / "cassettes", PROMPTS)
    error = replay_error(replay_model(root=tmp_path), "How long do I have to return a gift?")
    assert str(error) == (
        "replay: no cassette for this request in cassettes (record it with --record "
        "cassettes); closest recorded prompt: 'How long do I have to return an item?'"
    )
    assert error.retryable is False


def test_a_miss_on_the_same_prompt_says_which_params_differ(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    record(openai_model(server), tmp_path / "cassettes", ["Hi"], temperature=0)
    error = replay_error(replay_model(root=tmp_path), "Hi", temperature=0.7)
    assert 'same prompt, recorded with params {"temperature":0}' in str(error)
    assert 'this request has {"temperature":0.7}' in str(error)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    error = replay_error(replay_model("nowhere/", root=tmp_path), "Hi")
    assert str(error).startswith("replay: cassette folder nowhere/ does not exist")


def test_an_unreadable_cassette_is_named_when_a_request_misses(tmp_path: Path) -> None:
    (tmp_path / "cassettes").mkdir()
    (tmp_path / "cassettes" / "conflict.json").write_text("<<<<<<< HEAD\n", encoding="utf-8")
    error = replay_error(replay_model(root=tmp_path), "Hi")
    assert "the folder has no cassettes" in str(error)
    assert "unreadable cassette files: conflict.json (invalid JSON at line 1" in str(error)


def test_replay_ignores_the_recorded_model_by_default(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    record(openai_model(server), tmp_path / "cassettes", ["Hi"])
    (replayed,) = complete_all(replay_model(root=tmp_path), ["Hi"])
    assert replayed.text == "echo: Hi"


def test_strict_matching_requires_the_recorded_model(server: FakeLLMServer, tmp_path: Path) -> None:
    record(openai_model(server), tmp_path / "cassettes", ["Hi"])
    strict = {"match": "strict"}
    (replayed,) = complete_all(
        replay_model(root=tmp_path, recorded_model="openai:gpt-4o-mini", **strict), ["Hi"]
    )
    assert replayed.text == "echo: Hi"
    error = replay_error(
        replay_model(root=tmp_path, recorded_model="openai:gpt-4o", **strict), "Hi"
    )
    assert "recorded for openai:gpt-4o-mini" in str(error)


def test_strict_matching_without_a_recorded_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="recorded_model"):
        ReplayAdapter(replay_model(match="strict"))


def test_a_suite_recorded_with_an_alias_replays_under_a_bare_replay_spec(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    alias = openai_model(server, system="Be brief.", params={"temperature": 0})
    recorded = record(alias, tmp_path / "cassettes", PROMPTS)
    replayed = complete_all(replay_model(root=tmp_path), PROMPTS)
    assert [r.text for r in replayed] == [r.text for r in recorded]


def test_a_case_param_that_overrides_the_aliases_default_does_not_match(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    alias = openai_model(server, params={"temperature": 0})
    record(alias, tmp_path / "cassettes", ["Hi"])
    error = replay_error(replay_model(root=tmp_path), "Hi", temperature=1)
    assert "closest recorded prompt: 'Hi'" in str(error)


def case(case_id: str, prompt: str, repeat: int = 1) -> Case:
    return Case(
        id=case_id,
        suite="s.llm.yaml",
        messages=tuple(user(prompt)),
        assertions=(),
        hash="h",
        repeat=repeat,
    )


def run_cases(
    model: ModelConfig, cases: Sequence[Case], record_to: Path | None = None
) -> list[Execution]:
    """The cases through the engine, attempts concurrent as a run sends them."""
    recorder = CassetteRecorder(record_to) if record_to is not None else None
    engine = Engine(wrap_adapter=wrap_layers(cache=None, cache_mode="off", recorder=recorder))
    try:
        futures = engine.submit_many([Job(c, model) for c in cases])
        return [f.result(timeout=30) for f in futures]
    finally:
        engine.close()


def outcomes(execution: Execution) -> list[tuple[int, str | None, str | None]]:
    """(attempt, text, error) of every attempt, in attempt order."""
    return [
        (a.index, a.response.text if a.response is not None else None, a.error)
        for a in execution.attempts
    ]


def test_a_replayed_repeated_case_gets_every_recorded_attempt_in_order(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    coin = case("coin", "Heads or tails?", repeat=6)
    (recorded,) = run_cases(openai_model(sampling), [coin], tmp_path / "cassettes")
    assert len({text for _, text, _ in outcomes(recorded)}) == 6
    sampling.clear()
    (replayed,) = run_cases(replay_model(root=tmp_path), [coin])
    assert outcomes(replayed) == outcomes(recorded)
    assert sampling.requests == []


def test_cases_with_the_same_prompt_replay_their_own_answers(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    cases = [case("a", "same?", repeat=2), case("b", "same?", repeat=3)]
    recorded = run_cases(openai_model(sampling), cases, tmp_path / "cassettes")
    replayed = run_cases(replay_model(root=tmp_path), cases)
    assert [outcomes(e) for e in replayed] == [outcomes(e) for e in recorded]


def test_replay_serves_attempts_by_number_whatever_order_they_are_asked_in(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    (recorded,) = run_cases(openai_model(sampling), [case("c", "q", 4)], tmp_path / "cassettes")
    adapter = ReplayAdapter(replay_model(root=tmp_path))

    async def ask(attempt: int) -> str:
        metadata = {"suite": "s.llm.yaml", "case_id": "c", "attempt": attempt}
        return (await adapter.complete(Request(messages=user("q"), metadata=metadata))).text

    texts = {n: asyncio.run(ask(n)) for n in (3, 1, 0, 2)}
    assert [(n, texts[n], None) for n in range(4)] == outcomes(recorded)


def test_asking_more_attempts_than_recorded_is_an_error_naming_the_cassette_and_counts(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    (recorded,) = run_cases(openai_model(sampling), [case("c", "q", 2)], tmp_path / "cassettes")
    (replayed,) = run_cases(replay_model(root=tmp_path), [case("c", "q", 3)])
    assert outcomes(replayed)[:2] == outcomes(recorded)
    (path,) = (tmp_path / "cassettes").glob("*.json")
    error = outcomes(replayed)[2][2]
    assert error is not None and error.startswith(
        f"replay: cassettes/{path.name} has no answer for attempt 2 (counting from 0) of 'q': "
        "it holds 2 answers for case 's.llm.yaml::c' (attempts 0, 1)"
    )
    assert "exhausted = 'cycle'" in error


def test_exhausted_cycle_reuses_the_recorded_answers_in_turn(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    (recorded,) = run_cases(openai_model(sampling), [case("c", "q", 2)], tmp_path / "cassettes")
    first, second = (text for _, text, _ in outcomes(recorded))
    (replayed,) = run_cases(replay_model(root=tmp_path, exhausted="cycle"), [case("c", "q", 5)])
    assert [text for _, text, _ in outcomes(replayed)] == [first, second, first, second, first]


def test_exhausted_must_be_error_or_cycle() -> None:
    with pytest.raises(ConfigError, match="'exhausted' must be 'error' or 'cycle'"):
        ReplayAdapter(replay_model(exhausted="repeat"))


def test_a_case_with_no_answers_of_its_own_gets_the_cassettes_answers_in_order(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    (recorded,) = run_cases(openai_model(sampling), [case("old", "q", 3)], tmp_path / "cassettes")
    (renamed,) = run_cases(replay_model(root=tmp_path), [case("new", "q", 3)])
    assert outcomes(renamed) == outcomes(recorded)


def test_a_folder_of_version_1_and_version_2_cassettes_replays_both(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    folder = tmp_path / "cassettes"
    (recorded,) = run_cases(openai_model(sampling), [case("new", "new?", 2)], folder)
    # As an llmtest that kept one answer per request wrote it.
    legacy = {
        "version": 1,
        "key": "0" * 64,
        "request": {
            "adapter": "openai",
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "old?"}],
            "params": {},
        },
        "response": {
            "text": "the one old answer",
            "model": "gpt-4o-mini-2024-07-18",
            "usage": {"input_tokens": 2, "output_tokens": 4},
            "cost_usd": None,
            "finish_reason": "stop",
            "latency_ms": 12.5,
        },
    }
    (folder / f"{'0' * 64}.json").write_text(json.dumps(legacy, indent=2), encoding="utf-8")
    old, new = run_cases(
        replay_model(root=tmp_path), [case("old", "old?", 3), case("new", "new?", 2)]
    )
    # A version 1 cassette holds one answer: every identical request gets it, as before.
    assert outcomes(old) == [(n, "the one old answer", None) for n in range(3)]
    assert outcomes(new) == outcomes(recorded)
