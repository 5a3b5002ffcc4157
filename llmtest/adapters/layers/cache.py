"""The on-disk response cache: an identical request is paid for once.

Identical means the same request *and the same attempt*
(:func:`~llmtest.adapters.layers.stored.attempt_of`): a case's repeats exist to sample the
model again, so attempt n of a case is never answered with attempt 0's answer. Each
attempt has its own entry (:func:`~llmtest.adapters.layers.stored.attempt_key`; attempt 0
keeps the plain request key): ``repeat: 5`` at temperature 0 makes five calls the first
time and a later run gets each attempt's own answer back, while the first attempts of two
cases with the same prompt share one entry.

One JSON file per key, sharded by the key's first two hex digits
(``.llmtest/cache/3f/3fa2….json``). Writers replace a file atomically (a temp file in the
same folder, then ``os.replace``), so xdist workers and parallel ``llmtest run``s may
write the same key at once and a reader sees either no file or a whole one; a file that
cannot be read is a miss, never an error. Everything written passes through
:class:`~llmtest.config.secrets.Redactor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llmtest.adapters.base import Adapter, Request, Response
from llmtest.adapters.layers.stored import (
    TEMP_SUFFIX,
    attempt_key,
    attempt_of,
    claim_attempt,
    effective_params,
    request_key,
    response_from_dict,
    response_to_dict,
    write_atomic,
)
from llmtest.config.project import ModelConfig
from llmtest.config.secrets import Redactor
from llmtest.errors import ConfigError

CacheMode = Literal["auto", "on", "off"]
CACHE_MODES: tuple[CacheMode, ...] = ("auto", "on", "off")
DEFAULT_CACHE_FOLDER = Path(".llmtest/cache")
_FORMAT_VERSION = 1


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
        self.write_errors = 0
        self.write_error: str | None = None
        """The first reason an answer could not be stored (a full disk, say)."""

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
            "response": self.redactor.value(response_to_dict(response)),
        }
        text = self.redactor(json.dumps(entry, ensure_ascii=False, indent=2) + "\n")
        try:
            write_atomic(self.path_for(key), text)
            self._ignore_in_git()
        except OSError as exc:
            # The case has its answer; a cache that cannot keep it only costs a call later.
            self.write_errors += 1
            self.write_error = self.write_error or f"{exc.strerror or exc} ({self.folder})"
            return
        self.writes += 1

    def warning(self) -> str | None:
        """What to tell the user at the end of a run, if answers could not be stored."""
        if not self.write_errors:
            return None
        return (
            f"the response cache could not store {self.write_errors} "
            f"answer{'s' if self.write_errors != 1 else ''}: {self.write_error}"
        )

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
                if path.suffix not in (".json", TEMP_SUFFIX):
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

    Only successful answers are stored, each under its request's key and attempt.
    Concurrent identical requests of the same attempt (two cases with the same prompt)
    on one event loop wait for the first, so they cost one call; a case's repeats are
    different attempts and each is its own call.

    As the outermost layer (no recorder around it) it claims each call's attempt number
    (:func:`~llmtest.adapters.layers.stored.claim_attempt`).
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
        """The request's key without its attempt; the engine asks is_cached() and then
        complete() for the same request, so the last one is kept rather than hashed twice."""
        if self._last is not None and self._last[0] is request:
            return self._last[1]
        key = request_key(self.model, request)
        self._last = (request, key)
        return key

    async def complete(self, request: Request) -> Response:
        if not cache_policy(effective_params(self.model, request), self.mode):
            return await self.inner.complete(request)
        base = self._key(request)
        request, release = claim_attempt(request)
        key = attempt_key(base, attempt_of(request))
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        try:
            async with lock:
                cached = self.cache.get(key)
                if cached is not None:
                    return cached
                response = await self.inner.complete(request)
                self.cache.put(key, response)
                return response
        except BaseException:
            release()
            raise

    def is_cached(self, request: Request) -> bool:
        """Whether ``request`` will be answered from the cache: the engine then spends no
        rate-limit budget and no model turn on it."""
        if not cache_policy(effective_params(self.model, request), self.mode):
            return False
        key = attempt_key(self._key(request), attempt_of(request))
        return self.cache.path_for(key).is_file()

    async def aclose(self) -> None:
        await self.inner.aclose()
