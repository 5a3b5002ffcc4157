"""Recording cassettes: one readable file per request holding every answer it got, no
secrets, cache hits included.

The real engine and OpenAI adapter talk to a local FakeLLMServer; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Message, Request, Response
from llmtest.adapters.layers import build_layers, wrap_layers
from llmtest.adapters.layers.cache import CachingAdapter, ResponseCache
from llmtest.adapters.layers.cassettes import (
    Cassette,
    CassetteRecorder,
    RecordingAdapter,
    read_cassette,
)
from llmtest.adapters.layers.stored import request_key
from llmtest.adapters.openai import OpenAIAdapter
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig
from llmtest.engine.engine import Engine, Execution, Job
from llmtest.errors import ModelCallError
from tests.support.llm_server import FakeLLMServer

SECRET = "sk-test-SECRET-xyz"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after=0) as server:
        yield server


def model_at(server: FakeLLMServer, model: str = "test-model", **fields: Any) -> ModelConfig:
    return ModelConfig(
        name=f"openai:{model}", adapter="openai", model=model, base_url=server.url, **fields
    )


def user(prompt: str) -> list[Message]:
    return [{"role": "user", "content": prompt}]


def run(
    model: ModelConfig,
    prompts: list[str],
    *,
    cassettes: Path | None = None,
    cache: ResponseCache | None = None,
    **params: Any,
) -> list[Response]:
    recorder = CassetteRecorder(cassettes) if cassettes is not None else None
    engine = Engine(wrap_adapter=wrap_layers(cache=cache, cache_mode="on", recorder=recorder))
    try:
        return [engine.complete(model, user(p), params) for p in prompts]
    finally:
        engine.close()


def case(case_id: str, prompt: str, repeat: int = 1) -> Case:
    return Case(
        id=case_id,
        suite="s.llm.yaml",
        messages=tuple(user(prompt)),
        assertions=(),
        hash="h",
        repeat=repeat,
    )


def record_cases(model: ModelConfig, cases: Sequence[Case], folder: Path) -> list[Execution]:
    """The cases through the engine (attempts concurrent, as a run sends them), recorded."""
    recorder = CassetteRecorder(folder)
    engine = Engine(wrap_adapter=wrap_layers(cache=None, cache_mode="off", recorder=recorder))
    try:
        futures = engine.submit_many([Job(c, model) for c in cases])
        return [f.result(timeout=30) for f in futures]
    finally:
        engine.close()


def only_cassette(folder: Path) -> Cassette:
    (path,) = folder.glob("*.json")
    return read_cassette(path)


def recorded(cassette: Cassette, case_id: str) -> list[tuple[int | None, str]]:
    """(attempt, text) of one case's answers, in the file's order."""
    return [
        (a.attempt, a.response.text) for a in cassette.answers if a.case == f"s.llm.yaml::{case_id}"
    ]


def answered(execution: Execution) -> list[tuple[int | None, str]]:
    """(attempt, text) of what the engine's attempts got, in attempt order."""
    return [(a.index, a.response.text) for a in execution.attempts if a.response is not None]


def test_every_answered_request_is_recorded_as_one_file(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    run(model_at(server), ["one", "two", "three"], cassettes=tmp_path / "cassettes")
    prompts = sorted(read_cassette(p).prompt for p in (tmp_path / "cassettes").glob("*.json"))
    assert prompts == ["one", "three", "two"]


def test_a_cassette_is_indented_json_with_the_request_and_the_response(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    run(model_at(server), ["refund window?"], cassettes=tmp_path, temperature=0)
    (path,) = tmp_path.glob("*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["key"] == path.stem
    assert data["request"] == {
        "adapter": "openai",
        "model": "test-model",
        "messages": [{"role": "user", "content": "refund window?"}],
        "params": {"temperature": 0},
    }
    (answer,) = data["answers"]
    # A call outside any case (the llm fixture) is attempt 0 of no case.
    assert (answer["case"], answer["attempt"]) == (None, 0)
    assert set(answer["response"]) == {
        "text",
        "model",
        "usage",
        "cost_usd",
        "finish_reason",
        "latency_ms",
    }
    assert answer["response"]["text"] == "echo: refund window?"
    assert path.read_text(encoding="utf-8").startswith('{\n  "version": 2,\n')


def test_a_models_system_prompt_and_params_are_kept_as_model_defaults(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    model = model_at(server, system="Be brief.", params={"temperature": 0})
    run(model, ["hi"], cassettes=tmp_path)
    (path,) = tmp_path.glob("*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["request"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert data["model_defaults"] == {"system": "Be brief.", "params": {"temperature": 0}}


def test_cache_hits_are_recorded_too(server: FakeLLMServer, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    run(model_at(server), ["warm"], cache=cache)
    run(model_at(server), ["warm"], cache=cache, cassettes=tmp_path / "cassettes")
    assert len(server.requests) == 1
    assert [read_cassette(p).prompt for p in (tmp_path / "cassettes").glob("*.json")] == ["warm"]


def test_the_recorder_wraps_the_cache_and_the_cache_wraps_the_model(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    layers = wrap_layers(
        cache=ResponseCache(tmp_path / "cache"),
        cache_mode="auto",
        recorder=CassetteRecorder(tmp_path / "cassettes"),
    )
    model = model_at(server)
    outer = layers(OpenAIAdapter(model), model)
    assert isinstance(outer, RecordingAdapter)
    assert isinstance(outer.inner, CachingAdapter)
    assert isinstance(outer.inner.inner, OpenAIAdapter)


def test_build_layers_finds_relative_folders_from_the_project_root(tmp_path: Path) -> None:
    layers = build_layers(cache_mode="auto", record="cassettes", root=tmp_path)
    assert layers.recorder is not None and layers.recorder.folder == tmp_path / "cassettes"
    assert layers.cache is not None and layers.cache.folder == tmp_path / ".llmtest" / "cache"


def test_errors_are_not_recorded(server: FakeLLMServer, tmp_path: Path) -> None:
    engine = Engine(
        wrap_adapter=wrap_layers(cache=None, cache_mode="off", recorder=CassetteRecorder(tmp_path))
    )
    try:
        with pytest.raises(ModelCallError):
            engine.complete(model_at(server, "status-400"), user("hi"))
    finally:
        engine.close()
    assert list(tmp_path.iterdir()) == []


def test_re_recording_an_unchanged_answer_leaves_its_file_alone(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    run(model_at(server), ["stable", "changing"], cassettes=tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    server.replies["changing"] = "a new answer"
    run(model_at(server), ["stable", "changing"], cassettes=tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    changed = [name for name in before if before[name] != after[name]]
    assert [read_cassette(tmp_path / name).prompt for name in changed] == ["changing"]


def test_cassettes_never_contain_the_api_key_or_headers(
    server: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    (answer,) = run(model_at(server), [f"say {SECRET}"], cassettes=tmp_path)
    assert SECRET in answer.text
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET.encode() not in written
    assert b"authorization" not in written.lower() and b"bearer" not in written.lower()
    assert server.url.encode() not in written


def test_every_attempt_of_a_repeated_case_is_kept_in_attempt_order(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    (execution,) = record_cases(model_at(sampling), [case("coin", "Heads?", repeat=4)], tmp_path)
    cassette = only_cassette(tmp_path)
    assert recorded(cassette, "coin") == answered(execution)
    assert [attempt for attempt, _ in recorded(cassette, "coin")] == [0, 1, 2, 3]
    assert len({text for _, text in recorded(cassette, "coin")}) == 4


def test_cases_with_the_same_prompt_keep_their_own_answers(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    cases = [case("a", "same?", repeat=2), case("b", "same?", repeat=2)]
    first, second = record_cases(model_at(sampling), cases, tmp_path)
    cassette = only_cassette(tmp_path)
    assert len(cassette.answers) == 4
    assert recorded(cassette, "a") == answered(first)
    assert recorded(cassette, "b") == answered(second)


def test_a_retried_attempt_whose_answer_arrived_keeps_its_place(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    # flaky-1: the first request to reach the server fails (503) and its attempt retries
    # after the others have started; its answer is still kept as that attempt's.
    model = model_at(sampling, "flaky-1", max_retries=2)
    (execution,) = record_cases(model, [case("c", "retry?", repeat=3)], tmp_path)
    assert sorted(a.retries for a in execution.attempts) == [0, 0, 1]
    assert recorded(only_cassette(tmp_path), "c") == answered(execution)


def test_answers_are_kept_under_the_attempt_the_request_carries(tmp_path: Path) -> None:
    """Whatever order answers arrive in, each is kept as its attempt's."""
    model = ModelConfig(name="answering", adapter="answering", model="m")

    async def run() -> None:
        recorder = CassetteRecorder(tmp_path)
        adapter = RecordingAdapter(Answering(), model, recorder)
        for attempt in (2, 0, 1):
            metadata = {"suite": "s.llm.yaml", "case_id": "c", "attempt": attempt}
            await adapter.complete(Request(messages=user("q"), metadata=metadata))

    asyncio.run(run())
    assert recorded(only_cassette(tmp_path), "c") == [(0, "for 0"), (1, "for 1"), (2, "for 2")]


class Answering:
    """An adapter that tells which attempt it answered."""

    name = "answering"

    async def complete(self, request: Request) -> Response:
        return Response(text=f"for {request.metadata['attempt']}")

    async def aclose(self) -> None:
        return None


def test_re_recording_a_case_replaces_its_answers_and_keeps_other_cases(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    model = model_at(sampling)
    _, kept = record_cases(model, [case("a", "same?", repeat=2), case("b", "same?")], tmp_path)
    (again,) = record_cases(model, [case("a", "same?", repeat=2)], tmp_path)
    cassette = only_cassette(tmp_path)
    assert recorded(cassette, "a") == answered(again)
    assert recorded(cassette, "b") == answered(kept)


def test_recording_rewrites_a_version_1_cassette_as_version_2(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    model = model_at(server)
    key = request_key(model, Request(messages=user("old")))
    legacy = {
        "version": 1,
        "key": key,
        "request": {"adapter": "openai", "model": "test-model", "messages": user("old")},
        "response": {"text": "from an older llmtest"},
    }
    (tmp_path / f"{key}.json").write_text(json.dumps(legacy), encoding="utf-8")
    assert only_cassette(tmp_path).legacy
    run(model, ["old"], cassettes=tmp_path)
    data = json.loads((tmp_path / f"{key}.json").read_text(encoding="utf-8"))
    assert data["version"] == 2 and "response" not in data
    assert [a["response"]["text"] for a in data["answers"]] == ["echo: old"]


_RECORDER = textwrap.dedent(
    """
    import sys, time
    from llmtest.adapters.base import Request, Response
    from llmtest.adapters.layers.cassettes import CassetteRecorder
    from llmtest.config.project import ModelConfig

    folder, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    model = ModelConfig(name="openai:m", adapter="openai", model="m")
    recorder = CassetteRecorder(folder)
    while time.time() < start:
        time.sleep(0.001)
    for number in range(40):
        metadata = {"suite": "s", "case_id": f"{name}-{number}", "attempt": 0}
        request = Request(messages=[{"role": "user", "content": "shared"}], metadata=metadata)
        recorder.record(model, request, Response(text=f"{name} {number}"))
    """
)


def test_two_processes_recording_the_same_prompt_keep_every_answer(tmp_path: Path) -> None:
    folder, start = tmp_path / "cassettes", time.time() + 0.5
    writers = [
        subprocess.Popen([sys.executable, "-c", _RECORDER, str(folder), name, repr(start)])
        for name in ("one", "two")
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    # Whether the writers overlap depends on the machine; no answer may ever be lost.
    texts = sorted(a.response.text for a in only_cassette(folder).answers)
    assert texts == sorted(f"{name} {n}" for name in ("one", "two") for n in range(40))
