"""The canary step in production: an adapter-shaped router a user's app calls instead of its
model client.

A deterministic share of requests (by a stable hash of a key, so one user always stays on
one side) goes to the candidate; in shadow mode the chosen requests run on both models and
the user still gets the baseline's answer. Every exchange is appended to a JSONL log that
``llmtest compare --from-log`` turns into the usual comparison report and gate verdict.

Log format, one JSON object per line (every line redacted, one ``write(2)`` on an
``O_APPEND`` descriptor so several processes can share a log)::

    {"type": "canary", "at", "baseline", "candidate", "fraction", "shadow"}   # on open
    {"type": "exchange", "at", "key_hash", "routed_to": "baseline"|"candidate",
     "shadow": bool, "messages", "params",
     "baseline": {"model", "provider_model", "text", "latency_ms", "usage", "cost_usd",
                  "error"} | null,
     "candidate": {...} | null}

``shadow`` is true on an exchange where both models answered the same request (the pairs
the comparison needs); ``routed_to`` is the side whose answer the caller received.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from llmtest.adapters.base import Adapter, Message, Request, Response, build_messages
from llmtest.adapters.resolver import ModelResolver
from llmtest.config.project import load_project_config
from llmtest.errors import ConfigError, LLMTestError
from llmtest.plugins.registry import adapter_factory
from llmtest.results.jsonl import JsonlAppender

T = TypeVar("T")
Side = Literal["baseline", "candidate"]
KeyFunction = Callable[[Request], str]

LOG_EXCHANGE = "exchange"
LOG_HEADER = "canary"


def default_key(request: Request) -> str:
    """``metadata["user"]`` when the app passes one (so a user stays on one side), else the
    prompt (so the same question always gets the same model)."""
    user = request.metadata.get("user")
    return str(user) if user not in (None, "") else request.prompt


def route_value(key: str) -> float:
    """A stable number in [0, 1) for a key: the first 8 bytes of its SHA-256."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def key_hash(key: str) -> str:
    """What the log keeps instead of the key: a user id or a prompt may be personal data."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class _Outcome:
    """One side's answer (or failure) to one request, timed around the call."""

    model: str
    response: Response | None
    error: str | None
    elapsed_ms: float
    exception: Exception | None = field(default=None, compare=False, repr=False)

    def to_record(self) -> dict[str, Any]:
        response = self.response
        latency = response.latency_ms if response and response.latency_ms is not None else None
        return {
            "model": self.model,
            "provider_model": response.model if response else None,
            "text": response.text if response else None,
            "latency_ms": latency if latency is not None else round(self.elapsed_ms, 3),
            "usage": {
                "input_tokens": response.usage.input_tokens if response else None,
                "output_tokens": response.usage.output_tokens if response else None,
            },
            "cost_usd": response.cost_usd if response else None,
            "error": self.error,
        }


class _CanaryLog(JsonlAppender):
    """The exchange log: redacted JSON lines, one write each, across threads and processes."""

    what = "canary log"


class CanaryRouter:
    """Sends ``fraction`` of the traffic to ``candidate`` and the rest to ``baseline``.

    ``baseline`` and ``candidate`` are adapters or model specs/aliases (resolved from the
    pyproject.toml at or above ``project_root``, default the working directory). With
    ``shadow=True`` the selected requests run on both models concurrently and the caller
    gets the baseline's answer; a failing candidate is logged, never raised. ``key`` picks
    what is hashed to decide the side (default :func:`default_key`).
    """

    name = "canary"

    def __init__(
        self,
        baseline: Adapter | str,
        candidate: Adapter | str,
        *,
        fraction: float = 0.05,
        shadow: bool = False,
        log: str | Path | None = None,
        key: KeyFunction | None = None,
        project_root: Path | None = None,
    ) -> None:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ConfigError(f"canary fraction must be a number in [0, 1], got {fraction!r}")
        if not 0.0 <= float(fraction) <= 1.0:
            raise ConfigError(
                f"canary fraction must be in [0, 1] (0.05 sends 5% of the traffic to the "
                f"candidate), got {fraction!r}"
            )
        self.fraction = float(fraction)
        self.shadow = shadow
        self.key = key or default_key
        root = project_root or Path.cwd()
        self.baseline, self.baseline_name = _adapter(baseline, root)
        self.candidate, self.candidate_name = _adapter(candidate, root)
        self.log_path = Path(log) if log is not None else None
        self._log = _CanaryLog(self.log_path) if self.log_path is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_lock = threading.Lock()
        if self._log is not None:
            self._log.append(
                {
                    "type": LOG_HEADER,
                    "at": _now(),
                    "baseline": self.baseline_name,
                    "candidate": self.candidate_name,
                    "fraction": self.fraction,
                    "shadow": self.shadow,
                }
            )

    def side_for(self, request: Request) -> Side:
        """The side a request is routed to: the same key always gets the same side."""
        return "candidate" if route_value(self.key(request)) < self.fraction else "baseline"

    async def complete(self, request: Request) -> Response:
        """Answer like the model client it replaces; errors of the serving side propagate."""
        chosen = self.side_for(request)
        if self.shadow and chosen == "candidate":
            base, cand = await asyncio.gather(
                self._call(self.baseline, self.baseline_name, request),
                self._call(self.candidate, self.candidate_name, request),
            )
            self._record(request, "baseline", base, cand)
            return _answer(base)
        if chosen == "candidate":
            outcome = await self._call(self.candidate, self.candidate_name, request)
            self._record(request, "candidate", None, outcome)
        else:
            outcome = await self._call(self.baseline, self.baseline_name, request)
            self._record(request, "baseline", outcome, None)
        return _answer(outcome)

    def complete_sync(
        self,
        prompt_or_messages: str | Sequence[Message],
        *,
        system: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> Response:
        """For apps that are not async: the call runs on the router's own background loop,
        so it never clashes with an event loop the app may already have."""
        request = Request(
            messages=tuple(build_messages(prompt_or_messages, system)),
            params=params,
            metadata=dict(metadata or {}),
        )
        return self._run(self.complete(request)).result(timeout)

    async def aclose(self) -> None:
        """Close both adapters and the log."""
        try:
            await self.baseline.aclose()
        finally:
            try:
                await self.candidate.aclose()
            finally:
                if self._log is not None:
                    self._log.close()

    def close(self, timeout: float = 10.0) -> None:
        """The sync counterpart of :meth:`aclose`; stops the background loop if one ran."""
        with self._loop_lock:
            loop, self._loop = self._loop, None
        if loop is None:
            asyncio.run(self.aclose())
            return
        try:
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.close()

    async def __aenter__(self) -> CanaryRouter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> CanaryRouter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _call(self, adapter: Adapter, model: str, request: Request) -> _Outcome:
        started = time.perf_counter()
        try:
            response = await adapter.complete(request)
        except Exception as exc:  # noqa: BLE001 - logged, then raised by _answer if served
            elapsed = (time.perf_counter() - started) * 1000
            return _Outcome(model, None, _describe(exc), elapsed, exc)
        return _Outcome(model, response, None, (time.perf_counter() - started) * 1000)

    def _record(
        self, request: Request, routed_to: Side, base: _Outcome | None, cand: _Outcome | None
    ) -> None:
        if self._log is None:
            return
        self._log.append(
            {
                "type": LOG_EXCHANGE,
                "at": _now(),
                "key_hash": key_hash(self.key(request)),
                "routed_to": routed_to,
                "shadow": base is not None and cand is not None,
                "messages": [dict(m) for m in request.messages],
                "params": dict(request.params),
                "baseline": base.to_record() if base else None,
                "candidate": cand.to_record() if cand else None,
            }
        )

    def _run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    ready.set()
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="llmtest-canary", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return asyncio.run_coroutine_threadsafe(coro, self._loop)


def _adapter(spec: Adapter | str, root: Path) -> tuple[Adapter, str]:
    """An adapter and the name the log and the report use for it."""
    if isinstance(spec, str):
        model = ModelResolver(load_project_config(root))(spec)
        return adapter_factory(model.adapter)(model), model.name
    config = getattr(spec, "config", None)
    name = getattr(config, "name", None) or getattr(spec, "name", None) or type(spec).__name__
    return spec, str(name)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__


def _answer(outcome: _Outcome) -> Response:
    if outcome.response is None:
        if outcome.exception is not None:
            raise outcome.exception
        raise LLMTestError(outcome.error or f"{outcome.model} failed")
    return outcome.response


def _now() -> str:
    return datetime.now(UTC).isoformat()
