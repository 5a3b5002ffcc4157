"""The engine: concurrency, retries with backoff and Retry-After, errors kept apart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmtest import hookimpl
from llmtest.adapters.base import Message, Request, Response
from llmtest.adapters.layers import wrap_layers
from llmtest.adapters.layers.cache import ResponseCache
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig
from llmtest.engine import engine as engine_module
from llmtest.engine.engine import Engine, Job, RetryEvent
from llmtest.plugins import registry as plugins
from tests.support.llm_server import FakeLLMServer


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(concurrency=4)
    yield engine
    engine.close()


def case(prompt: str, repeat: int = 1) -> Case:
    messages: tuple[Message, ...] = ({"role": "user", "content": prompt},)
    return Case(id=prompt, suite="s", messages=messages, assertions=(), hash="h", repeat=repeat)


def openai_model(server: FakeLLMServer, model: str, **kwargs: object) -> ModelConfig:
    return ModelConfig(
        name=f"openai:{model}",
        adapter="openai",
        model=model,
        base_url=server.url,
        **kwargs,  # type: ignore[arg-type]
    )


def test_an_answer_is_recorded_with_latency_and_usage(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    execution = engine.submit(case("hello there"), openai_model(fake_provider, "m")).result()
    (attempt,) = execution.attempts
    assert attempt.response is not None
    assert attempt.response.text == "echo: hello there"
    assert attempt.response.usage.input_tokens == 2
    assert attempt.error is None and attempt.retries == 0


def test_retryable_failures_are_retried_until_an_answer(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    events: list[RetryEvent] = []
    engine.on_retry = events.append
    model = openai_model(fake_provider, "flaky-2", max_retries=3)
    execution = engine.submit(case("retry me"), model).result()
    (attempt,) = execution.attempts
    assert attempt.response is not None
    assert attempt.retries == 2
    assert [e.retry for e in events] == [1, 2]
    assert engine.stats.retries == 2


def test_retry_after_from_the_provider_sets_the_wait(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    events: list[RetryEvent] = []
    engine.on_retry = events.append
    model = openai_model(fake_provider, "flaky-429-1", max_retries=1)
    engine.submit(case("rate limited"), model).result()
    assert [e.delay_s for e in events] == [0.0]
    assert "HTTP 429" in events[0].reason


@pytest.mark.parametrize("retry_after", [3600, "3600"])
def test_a_retry_after_longer_than_llmtest_waits_is_an_error_not_an_early_retry(
    engine: Engine, retry_after: float | str
) -> None:
    events: list[RetryEvent] = []
    engine.on_retry = events.append
    with FakeLLMServer(retry_after=retry_after) as server:
        model = openai_model(server, "status-429", max_retries=5)
        (attempt,) = engine.submit(case("quota"), model).result(timeout=30).attempts
        requests = len(server.requests)
    assert (events, requests, attempt.retries) == ([], 1, 0)
    assert attempt.error is not None and "HTTP 429" in attempt.error
    assert attempt.error.endswith(
        "(gave up: the provider asked to wait 3600 s, longer than the 120 s llmtest waits "
        "for a retry)"
    )


def test_an_answer_longer_than_any_model_writes_is_an_error_and_never_cached(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("llmtest.config.limits.MAX_ANSWER_CHARS", 1000)
    with FakeLLMServer(reply=lambda model, messages: "x" * 1001) as server:
        model = openai_model(server, "m", max_retries=3, params={"temperature": 0})
        cache = ResponseCache(tmp_path / "cache")
        engine.wrap_adapter = wrap_layers(cache=cache, cache_mode="on", recorder=None)
        (attempt,) = engine.submit(case("flood"), model).result(timeout=30).attempts
        requests = len(server.requests)
    assert not list((tmp_path / "cache").rglob("*.json")), "the refused answer was cached"
    assert (attempt.response, requests) == (None, 1)
    assert (
        attempt.error
        == "openai:m: the answer is 1,001 characters, more than the 1,000 llmtest accepts"
    )


def test_an_error_after_the_last_retry_is_an_error_with_the_provider_message(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    model = openai_model(fake_provider, "status-500", max_retries=1)
    execution = engine.submit(case("always fails"), model).result()
    (attempt,) = execution.attempts
    assert attempt.response is None
    assert attempt.retries == 1
    assert attempt.error is not None
    assert "HTTP 500" in attempt.error
    assert attempt.error.endswith("(gave up after 1 retries)")


def test_a_malformed_body_is_not_retried(engine: Engine, fake_provider: FakeLLMServer) -> None:
    model = openai_model(fake_provider, "malformed", max_retries=3)
    execution = engine.submit(case("garbled"), model).result()
    (attempt,) = execution.attempts
    assert attempt.retries == 0
    assert attempt.error is not None and "malformed response" in attempt.error


def test_a_timeout_is_an_error_not_a_hang(engine: Engine, fake_provider: FakeLLMServer) -> None:
    model = openai_model(fake_provider, "hang", timeout_s=0.2, max_retries=0)
    execution = engine.submit(case("never answered"), model).result(timeout=10)
    assert execution.errors and "timed out" in execution.errors[0]


def test_repeat_makes_one_attempt_per_repetition(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    execution = engine.submit(case("again", repeat=3), openai_model(fake_provider, "m")).result()
    assert [a.index for a in execution.attempts] == [0, 1, 2]


def test_an_unknown_adapter_is_an_error_outcome(engine: Engine) -> None:
    model = ModelConfig(name="nope:x", adapter="nope", model="x")
    execution = engine.submit(case("hi"), model).result()
    assert execution.errors == [execution.errors[0]]
    assert execution.errors[0].startswith("unknown adapter 'nope'; installed adapters:")


def test_a_failing_call_does_not_stop_the_others(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    bad = engine.submit(case("x"), openai_model(fake_provider, "status-400"))
    good = engine.submit(case("y"), openai_model(fake_provider, "m"))
    assert bad.result().errors
    assert not good.result().errors


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(Exception, match="concurrency must be at least 1, got 0"):
        Engine(concurrency=0)


def test_submit_many_returns_one_future_per_case_in_order(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    model = openai_model(fake_provider, "m")
    futures = engine.submit_many([Job(case(f"q{i}"), model) for i in range(10)])
    texts = [f.result().attempts[0].response for f in futures]
    assert [t.text if t else None for t in texts] == [f"echo: q{i}" for i in range(10)]


def test_submit_many_resumes_only_the_given_attempts(
    engine: Engine, fake_provider: FakeLLMServer
) -> None:
    (future,) = engine.submit_many(
        [Job(case("r", repeat=3), openai_model(fake_provider, "m"), (2,))]
    )
    assert [a.index for a in future.result().attempts] == [2]


def test_cancelling_a_future_stops_its_call(fake_provider: FakeLLMServer) -> None:
    engine = Engine(concurrency=1)
    try:
        hanging = openai_model(fake_provider, "hang", timeout_s=30, max_retries=0)
        (future,) = engine.submit_many([Job(case("wait"), hanging)])
        deadline = time.monotonic() + 10
        while not fake_provider.requests_for("wait") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fake_provider.requests_for("wait"), "the call never reached the server"
        assert future.cancel()
        # The only slot is free again: the next case is answered, not queued behind it.
        after = engine.submit(case("next"), openai_model(fake_provider, "m"))
        assert not after.result(timeout=10).errors
        assert future.cancelled()
    finally:
        engine.close()


class OneAtATime:
    """A third-party adapter for something that serves one call at a time (as a model in
    this process does): it says so with ``reserve()``, and each call takes ``model`` s."""

    name = "one-at-a-time"
    in_flight = 0
    most_in_flight = 0

    def __init__(self, config: ModelConfig) -> None:
        self.seconds = float(config.model)
        self.lock: asyncio.Lock | None = None

    def reserve(self) -> asyncio.Lock:
        if self.lock is None:
            self.lock = asyncio.Lock()
        return self.lock

    async def complete(self, request: Request) -> Response:
        OneAtATime.in_flight += 1
        OneAtATime.most_in_flight = max(OneAtATime.most_in_flight, OneAtATime.in_flight)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            OneAtATime.in_flight -= 1
        return Response(text=request.prompt, model="one")

    async def aclose(self) -> None:
        return None


class QueuesInside:
    """The same resource with its queue inside ``complete``: the wait counts as call time."""

    name = "queues-inside"

    def __init__(self, config: ModelConfig) -> None:
        self.resource = OneAtATime(config)

    async def complete(self, request: Request) -> Response:
        async with self.resource.reserve():
            return await self.resource.complete(request)

    async def aclose(self) -> None:
        return None


@pytest.fixture
def serial_adapters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    class Plugin:
        @hookimpl
        def llmtest_adapters(self) -> dict[str, type[object]]:
            return {"one-at-a-time": OneAtATime, "queues-inside": QueuesInside}

    plugins.reset()
    plugins.plugin_manager().register(Plugin())
    # No grace beyond timeout_s, so time spent waiting for a turn shows as a timeout.
    monkeypatch.setattr(engine_module, "TIMEOUT_GRACE_S", 0.0)
    OneAtATime.most_in_flight = 0
    yield
    plugins.reset()


@pytest.mark.parametrize(
    ("adapter", "times_out"), [("one-at-a-time", False), ("queues-inside", True)]
)
def test_a_call_waiting_for_its_turn_is_not_timed_out(
    serial_adapters: None, adapter: str, times_out: bool
) -> None:
    # Twenty calls of 0.1 s, one at a time, timeout 1 s: the last ten wait longer than that
    # (a sleep is never shorter than asked), and each call alone has 0.9 s to spare.
    model = ModelConfig(name="one", adapter=adapter, model="0.1", timeout_s=1.0, max_retries=0)
    engine = Engine(concurrency=20)
    try:
        futures = engine.submit_many([Job(case(f"q{i}"), model) for i in range(20)])
        executions = [f.result(timeout=30) for f in futures]
    finally:
        engine.close()
    errors = [e.errors for e in executions if e.errors]
    assert len(errors) >= 5 if times_out else not errors
    assert all(e == ["one: no answer within 1s"] for e in errors)
    assert OneAtATime.most_in_flight == 1
