"""The response cache: identical requests are paid once, safely across processes.

The real OpenAI adapter talks to a local FakeLLMServer; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Request, Response, Usage
from llmtest.adapters.layers import build_layers
from llmtest.adapters.layers.cache import CachingAdapter, ResponseCache, cache_policy
from llmtest.adapters.layers.stored import request_key
from llmtest.adapters.openai import OpenAIAdapter
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig
from llmtest.engine.engine import Engine, Job
from llmtest.errors import ModelCallError
from tests.support.llm_server import FakeLLMServer

SECRET = "sk-test-SECRET-xyz"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after=0) as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    return ResponseCache(tmp_path / "cache")


def model_at(server: FakeLLMServer, model: str = "test-model", **fields: Any) -> ModelConfig:
    fields.setdefault("params", {"temperature": 0})
    return ModelConfig(
        name=f"openai:{model}", adapter="openai", model=model, base_url=server.url, **fields
    )


def request(prompt: str, **params: Any) -> Request:
    return Request(messages=({"role": "user", "content": prompt},), params=params)


def ask(
    model: ModelConfig, cache: ResponseCache, *requests: Request, mode: str = "auto"
) -> list[Response | BaseException]:
    """Send the requests one after another through one caching adapter; errors returned."""

    async def run() -> list[Response | BaseException]:
        adapter = CachingAdapter(OpenAIAdapter(model), model, cache, mode=mode)
        answers: list[Response | BaseException] = []
        try:
            for each in requests:
                try:
                    answers.append(await adapter.complete(each))
                except ModelCallError as exc:
                    answers.append(exc)
        finally:
            await adapter.aclose()
        return answers

    return asyncio.run(run())


def test_a_second_identical_request_is_answered_from_the_cache(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    first, second = ask(model_at(server), cache, request("hello"), request("hello"))
    assert isinstance(first, Response) and isinstance(second, Response)
    assert len(server.requests) == 1
    assert second.text == first.text == "echo: hello"
    assert second.raw == {"cache": "hit", "key": request_key(model_at(server), request("hello"))}
    assert first.raw != second.raw


def test_a_cache_hit_keeps_the_original_calls_fields(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    first, second = ask(
        model_at(server), cache, request("count my words"), request("count my words")
    )
    assert isinstance(first, Response) and isinstance(second, Response)
    assert (second.model, second.usage, second.finish_reason) == (
        first.model,
        first.usage,
        first.finish_reason,
    )
    assert second.latency_ms == pytest.approx(first.latency_ms, abs=0.05)


def test_different_params_miss(server: FakeLLMServer, cache: ResponseCache) -> None:
    ask(model_at(server), cache, request("hi", max_tokens=5), request("hi", max_tokens=6))
    assert len(server.requests) == 2


def test_different_messages_miss(server: FakeLLMServer, cache: ResponseCache) -> None:
    ask(model_at(server), cache, request("hi"), request("hi!"))
    assert len(server.requests) == 2


def test_a_different_model_or_system_prompt_misses(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    ask(model_at(server), cache, request("hi"))
    ask(model_at(server, "other-model"), cache, request("hi"))
    ask(model_at(server, system="Be brief."), cache, request("hi"))
    assert len(server.requests) == 3


def test_temperature_0_7_is_not_cached_in_auto_mode(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    ask(model_at(server), cache, request("hi", temperature=0.7), request("hi", temperature=0.7))
    assert len(server.requests) == 2
    assert cache.stats().entries == 0


def test_mode_on_caches_any_temperature(server: FakeLLMServer, cache: ResponseCache) -> None:
    ask(model_at(server, params={}), cache, request("hi"), request("hi"), mode="on")
    assert len(server.requests) == 1


def test_mode_off_never_caches(server: FakeLLMServer, cache: ResponseCache) -> None:
    ask(model_at(server), cache, request("hi"), request("hi"), mode="off")
    assert len(server.requests) == 2
    assert cache.stats().entries == 0


@pytest.mark.parametrize(
    ("params", "mode", "cached"),
    [
        ({"temperature": 0}, "auto", True),
        ({"temperature": 0.0}, "auto", True),
        ({"temperature": 0.7}, "auto", False),
        ({}, "auto", False),
        ({"temperature": False}, "auto", False),
        ({"temperature": 0.7}, "on", True),
        ({}, "on", True),
        ({"temperature": 0}, "off", False),
    ],
)
def test_cache_policy_caches_only_explicit_temperature_zero_in_auto_mode(
    params: Mapping[str, Any], mode: str, cached: bool
) -> None:
    assert cache_policy(params, mode) is cached


def test_errors_are_not_cached(server: FakeLLMServer, cache: ResponseCache) -> None:
    model = model_at(server, "flaky-1")
    failed, answered, hit = ask(model, cache, request("hi"), request("hi"), request("hi"))
    assert isinstance(failed, ModelCallError)
    assert isinstance(answered, Response) and answered.raw.get("cache") is None
    assert isinstance(hit, Response) and hit.raw["cache"] == "hit"
    assert len(server.requests) == 2


def test_concurrent_identical_requests_make_one_call(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    model = model_at(server)

    async def run() -> list[Response]:
        adapter = CachingAdapter(OpenAIAdapter(model), model, cache)
        try:
            return await asyncio.gather(*(adapter.complete(request("same")) for _ in range(5)))
        finally:
            await adapter.aclose()

    answers = asyncio.run(run())
    assert {a.text for a in answers} == {"echo: same"}
    assert len(server.requests) == 1


def test_a_corrupt_cache_file_is_a_miss_and_is_repaired(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    model = model_at(server)
    ask(model, cache, request("hi"))
    path = cache.path_for(request_key(model, request("hi")))
    path.write_text('{"version": 1, "key": "', encoding="utf-8")
    (again,) = ask(model, cache, request("hi"))
    assert isinstance(again, Response) and again.raw.get("cache") is None
    assert len(server.requests) == 2
    assert json.loads(path.read_text(encoding="utf-8"))["response"]["text"] == "echo: hi"


def test_entries_are_sharded_by_the_first_two_hex_digits(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    model = model_at(server)
    ask(model, cache, request("hi"))
    key = request_key(model, request("hi"))
    assert [p.relative_to(cache.folder) for p in cache.folder.glob("*/*.json")] == [
        Path(key[:2]) / f"{key}.json"
    ]


def test_clear_removes_every_entry_and_stats_count_them(
    server: FakeLLMServer, cache: ResponseCache
) -> None:
    ask(model_at(server), cache, request("a"), request("b"), request("c"))
    stats = cache.stats()
    assert stats.entries == 3 and stats.size_bytes > 0
    assert cache.clear() == 3
    assert cache.stats().entries == 0


_WRITER = textwrap.dedent(
    """
    import sys, time
    from llmtest.adapters.base import Response
    from llmtest.adapters.layers.cache import ResponseCache

    folder, key, name, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    cache = ResponseCache(folder)
    time.sleep(max(0.0, start - time.time()))
    torn = 0
    for write in range(300):
        cache.put(key, Response(text=f"{name} {write} " + "x" * 4000))
        if cache.get(key) is None:
            torn += 1
    print(torn)
    """
)


def test_two_processes_writing_the_same_key_leave_one_valid_file(tmp_path: Path) -> None:
    folder, key, start = tmp_path / "cache", "ab" + "0" * 62, time.time() + 0.5
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder), key, name, repr(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    counts = [w.communicate(timeout=60)[0].split() for w in writers]
    assert [w.returncode for w in writers] == [0, 0]
    # Whether the writers overlap depends on the machine; none may ever read a torn file.
    assert counts == [["0"], ["0"]]
    assert [p.name for p in (folder / "ab").iterdir()] == [f"{key}.json"]
    stored = ResponseCache(folder).get(key)
    assert stored is not None and stored.text.split()[0] in ("one", "two")


def test_cache_files_never_contain_the_api_key(
    server: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    cache = ResponseCache(tmp_path / "cache")
    (answer,) = ask(model_at(server), cache, request(f"repeat after me: {SECRET}"))
    assert isinstance(answer, Response) and SECRET in answer.text
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    written = b"".join(p.read_bytes() for p in cache.folder.rglob("*") if p.is_file())
    assert SECRET.encode() not in written
    assert b"authorization" not in written.lower() and b"bearer" not in written.lower()


def test_a_stored_response_without_usage_reads_back(cache: ResponseCache) -> None:
    cache.put("cd" + "1" * 62, Response(text="plain", usage=Usage()))
    stored = cache.get("cd" + "1" * 62)
    assert stored is not None and stored.text == "plain" and stored.usage == Usage()


def test_cache_hits_spend_no_rate_limit_budget(server: FakeLLMServer, tmp_path: Path) -> None:
    # One request a minute: the first run spends it; the second is all cache hits, so it
    # must not wait a minute per case.
    model = model_at(server, requests_per_minute=1)
    cases = [
        Case(
            id=f"c{i}",
            suite="s",
            messages=tuple(request(f"q {i}").messages),
            assertions=(),
            hash="h",
        )
        for i in range(3)
    ]
    layers = build_layers(cache_mode="auto", record=None, root=tmp_path)
    first = Engine(wrap_adapter=layers)
    try:
        assert not first.submit(cases[0], model).result(timeout=10).errors
    finally:
        first.close()
    second = Engine(wrap_adapter=layers)
    started = time.monotonic()
    try:
        # Case 0 is cached; cases 1 and 2 are not: the fresh limiter's one request goes to
        # case 1, and case 2 would wait a minute. Cancel it once 0 and 1 are answered.
        futures = second.submit_many([Job(c, model) for c in cases])
        assert not futures[0].result(timeout=10).errors
        assert not futures[1].result(timeout=10).errors
        assert time.monotonic() - started < 10
        assert not futures[2].done()
        futures[2].cancel()
    finally:
        second.close()
    assert len(server.requests_for("q 0")) == 1


def test_a_cases_repeats_are_never_answered_with_another_attempts_entry(
    sampling: FakeLLMServer, tmp_path: Path
) -> None:
    """At temperature 0 (cached in auto mode), ``repeat: 3`` still samples the model three
    times; a later run gets each attempt's own answer back; the first attempts of two
    cases with the same prompt share one entry, at the request's plain key."""
    model = model_at(sampling)
    cases = [
        Case(
            id=name,
            suite="s",
            messages=tuple(request("same").messages),
            assertions=(),
            hash="h",
            repeat=repeat,
        )
        for name, repeat in (("a", 3), ("b", 1))
    ]

    def texts() -> list[list[str]]:
        engine = Engine(wrap_adapter=build_layers(cache_mode="auto", record=None, root=tmp_path))
        try:
            executions = [
                f.result(timeout=30) for f in engine.submit_many([Job(c, model) for c in cases])
            ]
        finally:
            engine.close()
        return [[a.response.text for a in e.attempts if a.response] for e in executions]

    first = texts()
    assert len(sampling.requests) == 3
    assert len(set(first[0])) == 3 and first[1] == first[0][:1]
    cache = ResponseCache(tmp_path / ".llmtest" / "cache")
    assert cache.path_for(request_key(model, request("same"))).is_file()
    assert len(cache) == 3
    assert texts() == first
    assert len(sampling.requests) == 3
