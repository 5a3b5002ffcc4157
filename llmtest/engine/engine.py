"""The asyncio engine: every model call of a run, concurrently, on one background loop.

Front ends (the pytest plugin, ``llmtest run``) submit cases and get back
``concurrent.futures.Future`` objects; the loop lives in its own thread so it never clashes
with pytest-asyncio, Jupyter or the user's own event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from llmtest.adapters.base import (
    Adapter,
    CachingLayer,
    Message,
    Request,
    ReservingAdapter,
    Response,
)
from llmtest.cases.model import Case
from llmtest.config import limits
from llmtest.config.project import ModelConfig, model_label
from llmtest.engine.ratelimit import RateLimiter
from llmtest.errors import LLMTestError, ModelCallError
from llmtest.plugins.registry import adapter_factory

T = TypeVar("T")

MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0
"""The longest ``Retry-After`` llmtest waits out; a provider asking for more gets no early
retry: the case is an error that says how long it asked for."""
TIMEOUT_GRACE_S = 5.0
SCHEDULE_CHUNK = 256


@dataclass(frozen=True)
class Attempt:
    """One model call of a case (a case with ``repeat: N`` has N), retries included."""

    index: int
    response: Response | None
    error: str | None = None
    retries: int = 0
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class Execution:
    case: Case
    model: ModelConfig
    attempts: tuple[Attempt, ...]

    @property
    def errors(self) -> list[str]:
        return [a.error for a in self.attempts if a.error is not None]


@dataclass(frozen=True)
class Job:
    """A case to run against a model: all its ``repeat`` attempts, or only ``attempts``."""

    case: Case
    model: ModelConfig
    attempts: Sequence[int] | None = None


@dataclass
class EngineStats:
    calls: int = 0
    retries: int = 0
    errors: int = 0


@dataclass(frozen=True)
class RetryEvent:
    """Told to listeners so a progress display can show that we are waiting, not hung."""

    case_id: str
    model: str
    attempt: int
    retry: int
    delay_s: float
    reason: str


@dataclass
class Engine:
    """Runs model calls with bounded concurrency, retries with backoff, and timeouts.

    ``concurrency`` bounds the number of calls in flight across all models. Adapters are
    built once per model config, on the engine's loop; ``wrap_adapter`` may put a layer
    around each (the response cache, cassette recording).

    Some adapters serve fewer calls at once than the engine would send (a model in this
    process answers one at a time). Such an adapter has a ``reserve()`` async context
    manager: the engine enters it before taking a concurrency slot and starting the
    timeout, so ``timeout_s`` bounds the call itself, never its wait for a turn.

    A request the response cache will answer (``is_cached``, on the cache layer) spends
    neither the model's rate-limit budget nor a turn.
    """

    concurrency: int = 16
    on_retry: Callable[[RetryEvent], None] | None = None
    wrap_adapter: Callable[[Adapter, ModelConfig], Adapter] | None = None
    stats: EngineStats = field(default_factory=EngineStats)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise LLMTestError(f"concurrency must be at least 1, got {self.concurrency}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._adapters: dict[str, Adapter] = {}
        self._reservations: dict[
            str, Callable[[], contextlib.AbstractAsyncContextManager[Any]]
        ] = {}
        self._cached: dict[str, Callable[[Request], bool] | None] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.set_default_executor(
                    concurrent.futures.ThreadPoolExecutor(
                        max_workers=self.concurrency, thread_name_prefix="llmtest-call"
                    )
                )
                self._semaphore = asyncio.Semaphore(self.concurrency)
                ready.set()
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="llmtest-engine", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop

    def run_coroutine(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def submit(
        self, case: Case, model: ModelConfig, attempts: Sequence[int] | None = None
    ) -> concurrent.futures.Future[Execution]:
        """Start the attempts of ``case`` against ``model`` (all ``repeat`` of them, or only
        ``attempts`` when resuming); the future never raises for a model failure:
        failures are recorded on the attempts."""
        return self.submit_many([Job(case, model, attempts)])[0]

    def submit_many(self, jobs: Sequence[Job]) -> list[concurrent.futures.Future[Execution]]:
        """``submit`` for many cases with one wake-up of the loop.

        Each cross-thread wake-up is a write to the loop's self-pipe: a system call, and a
        chance for the GIL to pass to the loop thread, which at the start of a run is busy
        importing a provider SDK. One wake-up starts them all, a chunk of tasks per turn
        of the loop: the first calls go out at once, and answers that come back while
        thousands of cases are still being queued are not kept waiting behind them.
        """
        self.start()
        loop = self._loop
        assert loop is not None
        futures = [concurrent.futures.Future[Execution]() for _ in jobs]
        chunk = max(self.concurrency, SCHEDULE_CHUNK)

        def schedule(start: int) -> None:
            end = start + chunk
            for job, future in zip(jobs[start:end], futures[start:end], strict=True):
                if future.cancelled():
                    continue
                indices = range(job.case.repeat) if job.attempts is None else job.attempts
                task = loop.create_task(self._execute(job.case, job.model, indices))
                _chain(task, future, loop)
            if end < len(jobs):
                loop.call_soon(schedule, end)

        loop.call_soon_threadsafe(schedule, 0)
        return futures

    def complete(
        self, model: ModelConfig, messages: Sequence[Message], params: dict[str, Any] | None = None
    ) -> Response:
        """A single call from synchronous code (the ``llm`` fixture), with retries."""
        return self.call(model, messages, params).result()

    def call(
        self, model: ModelConfig, messages: Sequence[Message], params: dict[str, Any] | None = None
    ) -> concurrent.futures.Future[Response]:
        """A single call, with retries; the future raises ModelCallError if it failed."""
        request = Request(messages=tuple(messages), params={**model.params, **(params or {})})

        async def answer() -> Response:
            response, _ = await self._call(model, request, "llm", 0)
            return response

        return self.run_coroutine(answer())

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what is still running, close adapters, stop the loop."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in self._adapters.values():
                with contextlib.suppress(Exception):
                    await adapter.aclose()
            self._adapters.clear()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        loop.close()

    def _adapter(self, model: ModelConfig) -> Adapter:
        adapter = self._adapters.get(model.name)
        if adapter is None:
            adapter = adapter_factory(model.adapter)(model)
            # The adapter's own, not a layer's: the layers pass calls through unchanged.
            self._reservations[model.name] = (
                adapter.reserve if isinstance(adapter, ReservingAdapter) else contextlib.nullcontext
            )
            # Bounded before any layer sees an answer: none is cached or recorded.
            adapter = _BoundedAnswers(adapter, model)
            if self.wrap_adapter is not None:
                adapter = self.wrap_adapter(adapter, model)
            # Asked once per model: a protocol isinstance check costs microseconds per call.
            self._cached[model.name] = (
                adapter.is_cached if isinstance(adapter, CachingLayer) else None
            )
            self._adapters[model.name] = adapter
        return adapter

    async def _execute(self, case: Case, model: ModelConfig, indices: Sequence[int]) -> Execution:
        params = {**model.params, **case.params}
        # Each attempt says which it is, so the cache and cassettes keep the n-th answer
        # of a repeated case for the n-th attempt, however the attempts were scheduled.
        calls = [
            self._attempt(
                model,
                Request(
                    messages=case.messages,
                    params=params,
                    metadata={
                        "suite": case.suite,
                        "case_id": case.id,
                        "tags": case.tags,
                        "attempt": i,
                    },
                ),
                case.id,
                i,
            )
            for i in indices
        ]
        if len(calls) == 1:  # most cases: no task per attempt
            return Execution(case=case, model=model, attempts=(await calls[0],))
        attempts = await asyncio.gather(*calls)
        return Execution(case=case, model=model, attempts=tuple(attempts))

    async def _attempt(
        self, model: ModelConfig, request: Request, case_id: str, index: int
    ) -> Attempt:
        started = time.perf_counter()
        try:
            response, retries = await self._call(model, request, case_id, index)
        except ModelCallError as exc:
            self.stats.errors += 1
            elapsed = (time.perf_counter() - started) * 1000
            return Attempt(index, None, str(exc), exc.retries, elapsed)
        return Attempt(index, response, None, retries, (time.perf_counter() - started) * 1000)

    async def _call(
        self, model: ModelConfig, request: Request, case_id: str, index: int
    ) -> tuple[Response, int]:
        """One answer, retried while the failure is retryable and retries remain."""
        assert self._semaphore is not None
        try:
            adapter = self._adapter(model)
        except LLMTestError as exc:
            raise ModelCallError(str(exc)) from None
        limiter = self._limiters.get(model.name)
        if limiter is None:
            limiter = RateLimiter(model.requests_per_minute, model.tokens_per_minute)
            self._limiters[model.name] = limiter
        reserve = self._reservations[model.name]
        is_cached = self._cached[model.name]
        retry = 0
        while True:
            # A cached answer costs the provider nothing: no budget, no turn at the model.
            free = is_cached is not None and is_cached(request)
            if not free:
                await limiter.acquire()
            try:
                async with contextlib.nullcontext() if free else reserve(), self._semaphore:
                    self.stats.calls += 1
                    try:
                        # asyncio.timeout, not wait_for: no extra task per call.
                        async with asyncio.timeout(model.timeout_s + TIMEOUT_GRACE_S):
                            response = await adapter.complete(request)
                    except TimeoutError:
                        raise ModelCallError(
                            f"{model_label(model.name)}: no answer within {model.timeout_s:g}s",
                            retryable=True,
                        ) from None
                if not free:
                    limiter.record_tokens(response.usage.total_tokens or 0)
                return response, retry
            except ModelCallError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - an adapter bug is an error outcome
                error = ModelCallError(f"{model_label(model.name)}: {type(exc).__name__}: {exc}")
            if error.retryable and (error.retry_after or 0) > MAX_RETRY_AFTER_S:
                # Retrying sooner than the provider asked would only be refused again.
                waited = f" after {retry} retries" if retry else ""
                final = ModelCallError(
                    f"{error} (gave up{waited}: the provider asked to wait "
                    f"{error.retry_after:g} s, longer than the {MAX_RETRY_AFTER_S:g} s llmtest "
                    "waits for a retry)"
                )
                final.retries = retry
                raise final from None
            if not error.retryable or retry >= model.max_retries:
                if retry:
                    final = ModelCallError(f"{error} (gave up after {retry} retries)")
                    final.retries = retry
                    raise final from None
                raise error
            retry += 1
            self.stats.retries += 1
            delay = _backoff(retry, error.retry_after)
            if self.on_retry is not None:
                self.on_retry(RetryEvent(case_id, model.name, index, retry, delay, str(error)))
            await asyncio.sleep(delay)


class _BoundedAnswers:
    """The adapter, refusing an answer longer than :data:`MAX_ANSWER_CHARS` (see
    llmtest/config/limits.py) as the call's error."""

    def __init__(self, adapter: Adapter, model: ModelConfig) -> None:
        self.adapter = adapter
        self.model = model
        self.name = getattr(adapter, "name", model.adapter)

    async def complete(self, request: Request) -> Response:
        response = await self.adapter.complete(request)
        if len(response.text) > limits.MAX_ANSWER_CHARS:
            raise ModelCallError(
                f"{model_label(self.model.name)}: the answer is {len(response.text):,} "
                f"characters, more than the {limits.MAX_ANSWER_CHARS:,} llmtest accepts"
            )
        return response

    async def aclose(self) -> None:
        await self.adapter.aclose()


def _backoff(retry: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, unless the provider said how long to wait."""
    if retry_after is not None:
        return max(retry_after, 0.0)
    return random.uniform(0, min(MAX_BACKOFF_S, 0.5 * 2 ** (retry - 1)))


def _chain(
    task: asyncio.Task[T], future: concurrent.futures.Future[T], loop: asyncio.AbstractEventLoop
) -> None:
    """The task's outcome onto ``future``; cancelling ``future`` (from any thread) cancels
    the task, as ``asyncio.run_coroutine_threadsafe`` does."""

    def cancel_task(done: concurrent.futures.Future[T]) -> None:
        if done.cancelled():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to cancel
                loop.call_soon_threadsafe(task.cancel)

    def copy_outcome(done: asyncio.Task[T]) -> None:
        if done.cancelled():
            future.cancel()
            return
        if not future.set_running_or_notify_cancel():
            return
        error = done.exception()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(done.result())

    future.add_done_callback(cancel_task)
    task.add_done_callback(copy_outcome)
