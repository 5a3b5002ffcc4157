"""Recording cassettes: one readable file per request, no secrets, cache hits included.

The real engine and OpenAI adapter talk to a local FakeLLMServer; nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Message, Response
from llmtest.adapters.layers import build_layers, wrap_layers
from llmtest.adapters.layers.cache import CachingAdapter, ResponseCache
from llmtest.adapters.layers.cassettes import CassetteRecorder, RecordingAdapter, read_cassette
from llmtest.adapters.openai import OpenAIAdapter
from llmtest.config.project import ModelConfig
from llmtest.engine.engine import Engine
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
    assert set(data["response"]) == {
        "text",
        "model",
        "usage",
        "cost_usd",
        "finish_reason",
        "latency_ms",
    }
    assert data["response"]["text"] == "echo: refund window?"
    assert path.read_text(encoding="utf-8").startswith('{\n  "version": 1,\n')


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
