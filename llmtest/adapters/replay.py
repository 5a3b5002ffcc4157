"""``replay:FOLDER``: answers from recorded cassettes, so a suite runs offline and for free.

A request matches a cassette by its messages and params, whichever model recorded it,
so a suite recorded against ``openai:gpt-4o-mini`` replays as ``replay:cassettes/``.
Options (in a ``[tool.llmtest.models.<alias>]`` table with ``adapter = "replay"``):
``match = "strict"`` also requires the recorded adapter and model id to equal
``recorded_model`` (``"openai:gpt-4o-mini"``, or a bare model id).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmtest.adapters.base import Message, Request, Response, build_messages
from llmtest.adapters.layers.cassettes import Cassette, cassette_folder, read_cassette
from llmtest.adapters.layers.stored import (
    canonical_json,
    content_hash,
    effective_messages,
    effective_params,
)
from llmtest.config.project import ModelConfig
from llmtest.errors import ConfigError, ModelCallError

_MATCH_MODES = ("loose", "strict")
_PROMPT_CHARS = 80
_LISTED_UNREADABLE = 3

Defaults = tuple[str | None, Mapping[str, Any]]


def match_key(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """What replay looks a request up by: the messages and params a provider received."""
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    return content_hash({"messages": plain, "params": dict(params)})


class ReplayAdapter:
    """Answers each request with its recorded response; a request never recorded is an error.

    The folder is read once, on the first request. A recorded model's configuration may
    have added a system prompt and params to every request (``model_defaults`` in the
    file): a request is also tried with each such set added, as that model would have
    sent it.
    """

    name = "replay"

    @classmethod
    def check_config(cls, config: ModelConfig) -> None:
        """Asked when the model is named, before any case runs."""
        if not config.model:
            raise ConfigError(
                f"model {config.name!r}: replay needs a cassette folder, e.g. 'replay:cassettes/'"
            )

    def __init__(self, config: ModelConfig) -> None:
        self.check_config(config)
        self.config = config
        self.folder = cassette_folder(config)
        match = config.options.get("match", "loose")
        if match not in _MATCH_MODES:
            raise ConfigError(
                f"model {config.name!r}: replay option 'match' must be 'loose' or 'strict', "
                f"got {match!r}"
            )
        recorded = config.options.get("recorded_model")
        self.recorded_adapter: str | None = None
        self.recorded_model: str | None = None
        if match == "strict":
            if not isinstance(recorded, str) or not recorded:
                raise ConfigError(
                    f"model {config.name!r}: replay with match = 'strict' needs "
                    "recorded_model = 'adapter:model' (e.g. 'openai:gpt-4o-mini')"
                )
            adapter, sep, model = recorded.rpartition(":")
            self.recorded_adapter = adapter if sep else None
            self.recorded_model = model
        self._cassettes: list[Cassette] | None = None
        self._index: dict[str, list[Cassette]] = {}
        self._defaults: list[Defaults] = []
        self._unreadable: list[tuple[Path, str]] = []

    async def complete(self, request: Request) -> Response:
        cassette = self.find(request)
        if cassette is None:
            raise ModelCallError(self._miss_message(request), retryable=False)
        return dataclasses.replace(cassette.response, raw={"cassette": str(cassette.path)})

    async def aclose(self) -> None:
        return None

    def find(self, request: Request) -> Cassette | None:
        """The cassette recorded for this request, or None."""
        self._load()
        messages = effective_messages(self.config, request)
        params = effective_params(self.config, request)
        for system, defaults in self._defaults:
            key = match_key(build_messages(messages, system), {**defaults, **params})
            for cassette in self._index.get(key, ()):
                if self._model_matches(cassette):
                    return cassette
        return None

    def _load(self) -> None:
        if self._cassettes is not None:
            return
        cassettes: list[Cassette] = []
        paths = sorted(self.folder.rglob("*.json")) if self.folder.is_dir() else []
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                cassettes.append(read_cassette(path))
            except ValueError as exc:
                self._unreadable.append((path, str(exc)))
        defaults: dict[str, Defaults] = {canonical_json([None, {}]): (None, {})}
        for cassette in cassettes:
            key = match_key(cassette.messages, cassette.params)
            self._index.setdefault(key, []).append(cassette)
            variant = (cassette.default_system, cassette.default_params)
            defaults.setdefault(canonical_json(list(variant)), variant)
        self._defaults = list(defaults.values())
        self._cassettes = cassettes

    def _model_matches(self, cassette: Cassette) -> bool:
        if self.recorded_model is None:
            return True
        if self.recorded_adapter is not None and cassette.adapter != self.recorded_adapter:
            return False
        return cassette.model == self.recorded_model

    def _miss_message(self, request: Request) -> str:
        where = self.config.model
        if not self.folder.is_dir():
            return (
                f"replay: cassette folder {where} does not exist ({self.folder}); "
                f"record it with --record {where}"
            )
        message = (
            f"replay: no cassette for this request in {where} (record it with --record {where})"
        )
        closest = self._closest(request.prompt)
        if closest is None:
            message += "; the folder has no cassettes"
        else:
            message += f"; closest recorded prompt: {_quote(closest.prompt)}"
            if closest.prompt == request.prompt:
                message += f" ({self._difference(closest, request)})"
        if self._unreadable:
            listed = ", ".join(
                f"{path.name} ({reason})" for path, reason in self._unreadable[:_LISTED_UNREADABLE]
            )
            more = len(self._unreadable) - _LISTED_UNREADABLE
            message += f"; unreadable cassette files: {listed}" + (
                f" and {more} more" if more > 0 else ""
            )
        return message

    def _closest(self, prompt: str) -> Cassette | None:
        from rapidfuzz import fuzz, process

        cassettes = self._cassettes or []
        if not cassettes:
            return None
        found = process.extractOne(prompt, [c.prompt for c in cassettes], scorer=fuzz.ratio)
        return cassettes[found[2]] if found is not None else None

    def _difference(self, cassette: Cassette, request: Request) -> str:
        """Why a cassette with the very same prompt did not match, in a few words."""
        params = {**cassette.default_params, **effective_params(self.config, request)}
        if canonical_json(params) != canonical_json(cassette.params):
            return (
                f"same prompt, recorded with params {canonical_json(cassette.params)}, "
                f"this request has {canonical_json(params)}"
            )
        if not self._model_matches(cassette):
            return (
                f"same prompt, recorded for {cassette.adapter}:{cassette.model}, "
                f"match = 'strict' asks for {self.config.options.get('recorded_model')}"
            )
        return "same prompt, but the system prompt or earlier messages differ"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _PROMPT_CHARS:
        text = text[: _PROMPT_CHARS - 1] + "…"
    return f"'{text}'"
