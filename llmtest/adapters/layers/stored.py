"""A request's identity and a response as the layers keep them on disk: one home for what
the cache, the cassette recorder and the replay adapter share.

A request's identity has two parts. :func:`request_key` is *what* was asked (the same
prompt and params to the same model), so identical requests share a cache entry and a
cassette file. The *attempt* (:func:`attempt_of`) tells identical requests apart: a case
with ``repeat: 6`` asks the same thing six times, and each of those six answers is a
sample of its own, kept and served back as the n-th, never collapsed into one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import heapq
import json
import os
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmtest.adapters.base import Message, Request, Response, Usage, build_messages
from llmtest.config.project import ModelConfig

KEY_VERSION = 1
"""Part of every key: bump it when the key or the stored value changes meaning."""

TEMP_SUFFIX = ".tmp"


def effective_messages(model: ModelConfig, request: Request) -> list[Message]:
    """The messages the provider is sent: the model's system prompt added as adapters do."""
    return build_messages(request.messages, model.system)


def effective_params(model: ModelConfig, request: Request) -> dict[str, Any]:
    """The params the provider is sent: the model's merged under the request's, None dropped."""
    return merge_params(model.params, request.params)


def merge_params(*layers: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return {key: value for key, value in merged.items() if value is not None}


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, ``0.0`` written as ``0``."""
    return json.dumps(
        _normalize(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def request_key(model: ModelConfig, request: Request) -> str:
    """The identity of a request: the cache's key and a cassette's file name.

    Covers what decides the answer (adapter, model id, base_url, the params and messages
    the provider receives), never metadata such as the case id, so two cases with the
    same prompt share a cache entry and a cassette file. Within them, answers are told
    apart by attempt (:func:`attempt_key`) and, in a cassette, by case as well.
    """
    return content_hash(
        {
            "v": KEY_VERSION,
            "adapter": model.adapter,
            "model": model.model,
            "base_url": model.base_url,
            "params": effective_params(model, request),
            "messages": _plain_messages(effective_messages(model, request)),
        }
    )


ATTEMPT = "attempt"
"""The ``Request.metadata`` entry that says which attempt of its case a call is (0-based)."""


def case_of(request: Request) -> str | None:
    """The case a request runs, as ``suite::case id``; None for a call outside any case."""
    case_id = request.metadata.get("case_id")
    if not isinstance(case_id, str):
        return None
    suite = request.metadata.get("suite")
    return f"{suite}::{case_id}" if isinstance(suite, str) and suite else case_id


def attempt_of(request: Request) -> int:
    """Which attempt of its case ``request`` is, or (not yet claimed) will be when it is sent.

    ``metadata["attempt"]`` when the request carries it; otherwise the number the next
    :func:`claim_attempt` of this very request object will give.
    """
    given = _given_attempt(request)
    return given if given is not None else _ATTEMPTS.peek(request)


def claim_attempt(request: Request) -> tuple[Request, Callable[[], None]]:
    """The request stamped with its attempt number, and how to give the number back.

    Why an attempt number, and why this one: a replayed run must be the recorded run. The
    engine sends a case's attempts concurrently, so the order in which their answers
    arrive (or in which a replay is asked) depends on scheduling: numbering answers by
    arrival would hand a replay's attempt 2 the answer the recording's attempt 4 got, and
    across two cases with the same prompt, one case's answers to the other. An answer kept
    under (case, attempt) is served back to that case's attempt whatever the scheduling.

    A request that carries ``metadata["attempt"]`` is that attempt (exact, retries
    included). Otherwise the attempt is counted on the request object: the engine builds
    one ``Request`` per execution of a case, shared by its attempts and their retries, and
    starts the attempts in index order, so the n-th call entering the outermost layer is
    attempt n. A call that fails gives its number back (``release``) and its retry takes
    the lowest free number again, so a retried attempt whose answer arrives keeps its
    place. A call made outside a case (the ``llm`` fixture) builds a new request each
    time: each is attempt 0. Counting cannot know attempts that are not sent: a resumed
    run that sends only attempts 3-5 of a case numbers them 0-2, until the engine passes
    ``metadata["attempt"]``.

    The outermost layer claims; the layers inside it (and the adapter) see the stamped
    request and claim nothing.
    """
    if _given_attempt(request) is not None:
        return request, _nothing
    number = _ATTEMPTS.take(request)
    stamped = dataclasses.replace(request, metadata={**request.metadata, ATTEMPT: number})
    return stamped, lambda: _ATTEMPTS.release(request, number)


def attempt_key(key: str, attempt: int) -> str:
    """The cache key of the ``attempt``-th identical request: attempt 0 keeps ``key`` itself
    (a cache written before attempts were told apart stays valid)."""
    if attempt == 0:
        return key
    return content_hash({"v": KEY_VERSION, "key": key, "attempt": attempt})


def _given_attempt(request: Request) -> int | None:
    value = request.metadata.get(ATTEMPT)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _nothing() -> None:
    return None


class _AttemptNumbers:
    """Attempt numbers per live request object: the lowest free one is taken next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(request) -> [next never-taken number, heap of numbers given back]
        self._state: dict[int, tuple[list[int], list[int]]] = {}

    def peek(self, request: Request) -> int:
        with self._lock:
            state = self._state.get(id(request))
            if state is None:
                return 0
            high, free = state
            return free[0] if free else high[0]

    def take(self, request: Request) -> int:
        with self._lock:
            state = self._state.get(id(request))
            if state is None:
                state = self._state[id(request)] = ([0], [])
                weakref.finalize(request, self._forget, id(request))
            high, free = state
            if free:
                return heapq.heappop(free)
            high[0] += 1
            return high[0] - 1

    def release(self, request: Request, number: int) -> None:
        with self._lock:
            state = self._state.get(id(request))
            if state is not None and number not in state[1]:
                heapq.heappush(state[1], number)

    def _forget(self, key: int) -> None:
        # Called as the request is freed, maybe by the collector while this thread holds
        # the lock: no lock here (a dict's pop is atomic), and no new object can have the
        # dead one's id before it is gone.
        self._state.pop(key, None)


_ATTEMPTS = _AttemptNumbers()


def response_to_dict(response: Response) -> dict[str, Any]:
    """The fields of a Response worth keeping; ``raw`` is left out (large, provider-shaped)."""
    return {
        "text": response.text,
        "model": response.model,
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
        },
        "cost_usd": response.cost_usd,
        "finish_reason": response.finish_reason,
        "latency_ms": None if response.latency_ms is None else round(response.latency_ms, 1),
    }


def response_from_dict(data: Any, raw: Any = None) -> Response:
    """The inverse of :func:`response_to_dict`; ValueError if the data is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
        raise ValueError("not a stored response: 'text' is missing")
    usage = data.get("usage") or {}
    if not isinstance(usage, Mapping):
        raise ValueError("'usage' is not an object")
    return Response(
        text=data["text"],
        model=_optional(data, "model", str),
        latency_ms=_optional_number(data, "latency_ms"),
        usage=Usage(
            input_tokens=_optional(usage, "input_tokens", int),
            output_tokens=_optional(usage, "output_tokens", int),
        ),
        cost_usd=_optional_number(data, "cost_usd"),
        raw=raw,
        finish_reason=_optional(data, "finish_reason", str),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that readers in any process see the old file or the new, whole.

    When another process holds the target open (Windows) the write is dropped: that
    process is writing the same key, and its file is as good as ours.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        try:
            os.replace(temp, path)
        except PermissionError:
            os.unlink(temp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One writer at a time in ``folder``, across threads and processes (xdist workers,
    parallel runs): held while a file is read, merged and rewritten, never across a call.

    POSIX locks the folder itself (``flock``), so nothing is added to it; Windows locks a
    file in the temp folder named after it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        import msvcrt

        name = f"llmtest-{content_hash(str(folder.resolve()))[:24]}.lock"
        with open(Path(tempfile.gettempdir()) / name, "a+b") as fh:
            while True:
                fh.seek(0)
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s: keep waiting
                    continue
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and with it the lock


def _plain_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(item) for item in value]
    return value


def _optional(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name!r} is not a {kind.__name__}")
    return value


def _optional_number(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name!r} is not a number")
    return float(value)
