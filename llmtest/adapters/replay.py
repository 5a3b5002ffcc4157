"""``replay:FOLDER``: answers from recorded cassettes, so a suite runs offline and for free.

A replayed run is the recorded run: a cassette keeps every answer an identical request got
(:mod:`llmtest.adapters.layers.cassettes`), and attempt n of a case gets the answer attempt
n got when it was recorded, whatever order the engine's concurrent calls arrive in
(:func:`~llmtest.adapters.layers.stored.claim_attempt` says why by attempt). So a
``repeat: 6`` case that passed 3 of 6 when recorded passes 3 of 6 replayed, attempt by
attempt.

Which answer a request gets, from the cassette of its messages and params:

- the one recorded for its case (``suite::id``) and attempt;
- for a case the cassette has no answer of (a renamed case, say), the cassette's answers
  in order: attempt n gets the n-th;
- a version 1 cassette (one answer per file, written before every answer was kept): that
  answer, for every identical request, as it always did.

Asking more than was recorded (``--repeat`` raised since, or an attempt whose recording
failed) is an error naming the cassette, the case and the answers it holds: silently
serving an answer twice would change the verdict. ``exhausted = "cycle"`` reuses the
recorded answers in turn instead. Asking fewer (``-k``, a lower repeat) leaves the rest
unused.

A request matches a cassette by its messages and params, whichever model recorded it,
so a suite recorded against ``openai:gpt-4o-mini`` replays as ``replay:cassettes/``.
Options (in a ``[tool.llmtest.models.<alias>]`` table with ``adapter = "replay"``):
``match = "strict"`` also requires the recorded adapter and model id to equal
``recorded_model`` (``"openai:gpt-4o-mini"``, or a bare model id); ``exhausted =
"error"`` (the default) or ``"cycle"``, as above.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmtest.adapters.base import Message, Request, Response, build_messages
from llmtest.adapters.layers.cassettes import Answer, Cassette, cassette_folder, read_cassette
from llmtest.adapters.layers.stored import (
    attempt_of,
    canonical_json,
    case_of,
    claim_attempt,
    content_hash,
    effective_messages,
    effective_params,
)
from llmtest.config.project import ModelConfig
from llmtest.errors import ConfigError, ModelCallError

_MATCH_MODES = ("loose", "strict")
_EXHAUSTED_MODES = ("error", "cycle")
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
        exhausted = config.options.get("exhausted", "error")
        if exhausted not in _EXHAUSTED_MODES:
            raise ConfigError(
                f"model {config.name!r}: replay option 'exhausted' must be 'error' or 'cycle', "
                f"got {exhausted!r}"
            )

    def __init__(self, config: ModelConfig) -> None:
        self.check_config(config)
        self.config = config
        self.folder = cassette_folder(config)
        self.exhausted: str = config.options.get("exhausted", "error")
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
        request, release = claim_attempt(request)
        try:
            cassette, answer = self.answer(request)
        except BaseException:
            release()
            raise
        return dataclasses.replace(answer.response, raw={"cassette": str(cassette.path)})

    async def aclose(self) -> None:
        return None

    def find(self, request: Request) -> Cassette | None:
        """The cassette recorded for this request, or None."""
        candidates = self._candidates(request)
        return candidates[0] if candidates else None

    def answer(self, request: Request) -> tuple[Cassette, Answer]:
        """The recorded answer for this request's case and attempt (the module says which);
        ModelCallError if none was recorded."""
        candidates = self._candidates(request)
        if not candidates:
            raise ModelCallError(self._miss_message(request), retryable=False)
        case = case_of(request)
        attempt = attempt_of(request)
        # Loose matching may find the request recorded by several models: the first that
        # holds this case's answers, else the first.
        cassette = next(
            (c for c in candidates if any(a.case == case for a in c.answers)), candidates[0]
        )
        if cassette.legacy:
            return cassette, cassette.answers[0]
        own = sorted(
            (a for a in cassette.answers if a.case == case),
            key=lambda a: -1 if a.attempt is None else a.attempt,
        )
        if own:
            exact = next((a for a in own if a.attempt == attempt), None)
            if exact is not None:
                return cassette, exact
            pool = own
        else:
            pool = list(cassette.answers)
            if attempt < len(pool):
                return cassette, pool[attempt]
        if self.exhausted == "cycle":
            return cassette, pool[attempt % len(pool)]
        raise ModelCallError(
            self._exhausted_message(cassette, case, attempt, pool, own=bool(own)),
            retryable=False,
        )

    def _candidates(self, request: Request) -> list[Cassette]:
        """The cassettes recorded for this request (and, strict, for the model), in order."""
        self._load()
        messages = effective_messages(self.config, request)
        params = effective_params(self.config, request)
        found: list[Cassette] = []
        for system, defaults in self._defaults:
            key = match_key(build_messages(messages, system), {**defaults, **params})
            for cassette in self._index.get(key, ()):
                if self._model_matches(cassette) and all(c is not cassette for c in found):
                    found.append(cassette)
        return found

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

    def _exhausted_message(
        self, cassette: Cassette, case: str | None, attempt: int, pool: list[Answer], *, own: bool
    ) -> str:
        where = (Path(self.config.model) / cassette.path.relative_to(self.folder)).as_posix()
        if own:
            whose = f"case {case!r}" if case is not None else "calls outside any case"
            held = _attempts([a.attempt for a in pool])
            recorded = f"it holds {_answers(len(pool))} for {whose} ({held})"
        else:
            recorded = f"it holds {_answers(len(pool))}, none recorded for this case"
        return (
            f"replay: {where} has no answer for attempt {attempt} (counting from 0) of "
            f"{_quote(cassette.prompt)}: {recorded}; the recording made fewer attempts, or "
            f"they failed. Re-record with --record {self.config.model}, or set "
            "exhausted = 'cycle' on the replay model to reuse the recorded answers in turn"
        )

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


def _answers(count: int) -> str:
    return f"{count} answer{'s' if count != 1 else ''}"


def _attempts(numbers: Sequence[int | None]) -> str:
    """``attempts 0-5``, ``attempts 0, 2``, ``attempt 3``: the attempts a cassette holds."""
    known = sorted({n for n in numbers if n is not None})
    if not known:
        return "attempts not numbered"
    if len(known) > 2 and known == list(range(known[0], known[-1] + 1)):
        return f"attempts {known[0]}-{known[-1]}"
    return ("attempt " if len(known) == 1 else "attempts ") + ", ".join(map(str, known))
