"""The on-disk response cache: an identical request is paid for once.

One JSON file per request key, sharded by the key's first two hex digits
(``.llmtest/cache/3f/3fa2….json``). Writers replace a file atomically (a temp file in the
same folder, then ``os.replace``), so xdist workers and parallel ``llmtest run``s may
write the same key at once and a reader sees either no file or a whole one; a file that
cannot be read is a miss, never an error. Everything written passes through
:class:`~llmtest.config.secrets.Redactor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llmtest.adapters.base import Adapter, Message, Request, Response, Usage, build_messages
from llmtest.config.project import ModelConfig
from llmtest.config.secrets import Redactor
from llmtest.errors import ConfigError

CacheMode = Literal["auto", "on", "off"]
CACHE_MODES: tuple[CacheMode, ...] = ("auto", "on", "off")
DEFAULT_CACHE_FOLDER = Path(".llmtest/cache")
KEY_VERSION = 1
"""Part of every key: bump it when the key or the stored value changes meaning."""

_FORMAT_VERSION = 1
_TEMP_SUFFIX = ".tmp"


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
    same prompt share an answer.
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


def cache_policy(params: Mapping[str, Any], mode: str) -> bool:
    """Whether a request with these merged params may be answered from the cache.

    ``auto`` caches only requests that ask for determinism (``temperature`` explicitly 0):
    caching a sampled answer would hide the spread that repeats exist to measure.
    """
    if mode == "on":
        return True
    if mode == "off":
        return False
    if mode != "auto":
        raise ConfigError(f"cache mode must be auto, on or off, got {mode!r}")
    temperature = params.get("temperature")
    return (
        isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and temperature == 0
    )


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


def redact_value(value: Any, redactor: Redactor) -> Any:
    """Every string inside ``value`` (keys too) with known secrets masked."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, Mapping):
        return {redact_value(k, redactor): redact_value(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item, redactor) for item in value]
    return value


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that readers in any process see the old file or the new, whole.

    When another process holds the target open (Windows) the write is dropped: that
    process is writing the same key, and its file is as good as ours.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=_TEMP_SUFFIX)
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


@dataclass(frozen=True)
class CacheStats:
    entries: int
    size_bytes: int


class ResponseCache:
    """Responses on disk by request key; safe to share between threads and processes.

    ``hits``, ``misses`` and ``writes`` count this object's own traffic, for a summary
    line at the end of a run.
    """

    def __init__(
        self, folder: Path | str = DEFAULT_CACHE_FOLDER, *, redactor: Redactor | None = None
    ) -> None:
        self.folder = Path(folder)
        self.redactor = redactor if redactor is not None else Redactor()
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def path_for(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Response | None:
        """The stored response, marked ``raw={"cache": "hit", "key": key}``; None on a miss.

        A missing, half-written, corrupt or foreign file is a miss: the caller asks the
        model again and the next write repairs the entry.
        """
        try:
            data = json.loads(self.path_for(key).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("key") != key:
                raise ValueError("the file is not the entry for this key")
            response = response_from_dict(data.get("response"), raw={"cache": "hit", "key": key})
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return response

    def put(self, key: str, response: Response) -> None:
        entry = {
            "version": _FORMAT_VERSION,
            "key": key,
            "response": redact_value(response_to_dict(response), self.redactor),
        }
        text = self.redactor(json.dumps(entry, ensure_ascii=False, indent=2) + "\n")
        write_atomic(self.path_for(key), text)
        self._ignore_in_git()
        self.writes += 1

    def stats(self) -> CacheStats:
        entries = size = 0
        for path in self._entry_files():
            with contextlib.suppress(FileNotFoundError):
                size += path.stat().st_size
                entries += 1
        return CacheStats(entries=entries, size_bytes=size)

    def __len__(self) -> int:
        return self.stats().entries

    def clear(self) -> int:
        """Delete every entry (and leftovers of interrupted writes); returns the entry count."""
        removed = 0
        if not self.folder.is_dir():
            return 0
        for shard in self.folder.iterdir():
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for path in shard.iterdir():
                if path.suffix not in (".json", _TEMP_SUFFIX):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    if path.suffix == ".json":
                        removed += 1
            with contextlib.suppress(OSError):
                shard.rmdir()
        return removed

    def _entry_files(self) -> Iterator[Path]:
        if self.folder.is_dir():
            yield from self.folder.glob("??/*.json")

    def _ignore_in_git(self) -> None:
        """Cached answers are local state, like ``.pytest_cache``: keep them out of git."""
        marker = self.folder / ".gitignore"
        if marker.exists():
            return
        with contextlib.suppress(FileExistsError), marker.open("x", encoding="utf-8") as fh:
            fh.write("# Created by llmtest: the response cache is local state.\n*\n")


class CachingAdapter:
    """Answers from a :class:`ResponseCache` when the policy allows, else asks ``inner``.

    Only successful answers are stored. Concurrent identical requests on one event loop
    wait for the first, so ``repeat: 5`` at temperature 0 costs one call, not five.
    """

    def __init__(
        self,
        inner: Adapter,
        model: ModelConfig,
        cache: ResponseCache,
        *,
        mode: str = "auto",
    ) -> None:
        if mode not in CACHE_MODES:
            raise ConfigError(f"cache mode must be auto, on or off, got {mode!r}")
        self.inner = inner
        self.name = inner.name
        self.model = model
        self.cache = cache
        self.mode = mode
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._last: tuple[Request, str] | None = None

    def _key(self, request: Request) -> str:
        """The request's cache key; the engine asks is_cached() and then complete() for the
        same request, so the last one is kept rather than hashed twice."""
        if self._last is not None and self._last[0] is request:
            return self._last[1]
        key = request_key(self.model, request)
        self._last = (request, key)
        return key

    async def complete(self, request: Request) -> Response:
        if not cache_policy(effective_params(self.model, request), self.mode):
            return await self.inner.complete(request)
        key = self._key(request)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
            response = await self.inner.complete(request)
            self.cache.put(key, response)
            return response

    def is_cached(self, request: Request) -> bool:
        """Whether ``request`` will be answered from the cache: the engine then spends no
        rate-limit budget and no model turn on it."""
        if not cache_policy(effective_params(self.model, request), self.mode):
            return False
        return self.cache.path_for(self._key(request)).is_file()

    async def aclose(self) -> None:
        await self.inner.aclose()


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
