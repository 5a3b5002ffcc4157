"""Cassettes: request/response pairs recorded to disk, replayed by the ``replay`` adapter.

One JSON file per request, named by :func:`llmtest.adapters.layers.stored.request_key`, so
adding a case adds one file and re-recording a case rewrites only its own. A file holds the
request as the provider received it (adapter, model id, messages, params) and **every
answer** an identical request got: each attempt of a repeated case, and each case that asks
the same thing, under its ``case`` (``suite::id``; null for a call outside any case) and
its ``attempt`` (0-based), in attempt order, so a replay serves the n-th attempt the n-th
answer (:func:`~llmtest.adapters.layers.stored.claim_attempt` says why by attempt, not
by arrival). Never headers, API keys or the base_url, and every string passes through
:class:`~llmtest.config.secrets.Redactor`::

    {
      "version": 2,
      "key": "3fa2…",
      "request": {"adapter": "openai", "model": "gpt-4o-mini",
                  "messages": [{"role": "user", "content": "…"}], "params": {"temperature": 0}},
      "model_defaults": {"system": "…", "params": {"temperature": 0}},
      "answers": [
        {"case": "tests/test_support.llm.yaml::refund-window", "attempt": 0,
         "response": {"text": "…", "model": "gpt-4o-mini-2024-07-18",
                      "usage": {"input_tokens": 12, "output_tokens": 30},
                      "cost_usd": 2.1e-05, "finish_reason": "stop", "latency_ms": 412.3}},
        {"case": "tests/test_support.llm.yaml::refund-window", "attempt": 1, "response": {…}}
      ]
    }

``model_defaults`` (present only when the recorded model's configuration had a system
prompt or params) is what that configuration added to every request; replay adds it
back, so a suite recorded with an alias replays under a bare ``replay:cassettes/``.

Recording an answer replaces the one in its (case, attempt) place and keeps the others:
re-recording a case with ``-k`` leaves other cases' answers alone, and an answer that did
not change (latency aside) leaves the file untouched, so ``git diff`` shows only answers
that changed. Answers of cases or attempts no longer asked stay until the folder is
re-recorded from empty. Files are merged under
:func:`~llmtest.adapters.layers.stored.folder_lock` and replaced atomically, so xdist
workers recording two cases with the same prompt keep both answers.

Version 1 files (written before every answer was kept) have one ``"response"`` instead of
``"answers"``: they still replay, that one answer for every identical request, as they
always did; recording into the folder rewrites such a file as version 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmtest.adapters.base import (
    Adapter,
    CachingLayer,
    Message,
    Request,
    Response,
    last_user_message,
)
from llmtest.adapters.layers.stored import (
    attempt_of,
    case_of,
    claim_attempt,
    effective_messages,
    effective_params,
    folder_lock,
    merge_params,
    request_key,
    response_from_dict,
    response_to_dict,
    write_atomic,
)
from llmtest.config.project import ModelConfig
from llmtest.config.secrets import Redactor

FORMAT_VERSION = 2
"""The version this recorder writes; :func:`read_cassette` reads 1 and 2."""


def cassette_folder(config: ModelConfig) -> Path:
    """The folder a ``replay:FOLDER`` spec names: relative to the project root, else cwd."""
    folder = Path(config.model).expanduser()
    if not folder.is_absolute() and config.root:
        folder = Path(config.root) / folder
    return folder


@dataclass(frozen=True)
class Answer:
    """One recorded answer: which case and attempt got it (None where not known)."""

    response: Response
    case: str | None = None
    attempt: int | None = None


@dataclass(frozen=True)
class Cassette:
    """One recorded request and every answer it got, as read back from its file."""

    path: Path
    key: str
    adapter: str
    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any]
    answers: tuple[Answer, ...]
    default_system: str | None = None
    default_params: Mapping[str, Any] = field(default_factory=dict)
    legacy: bool = False
    """A version 1 file: one answer, kept for every identical request."""

    @property
    def response(self) -> Response:
        """The first recorded answer."""
        return self.answers[0].response

    @property
    def prompt(self) -> str:
        """The last user message: what a human searches the folder for."""
        return last_user_message(self.messages)


def read_cassette(path: Path) -> Cassette:
    """Parse one cassette file; ValueError (with the reason) if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
        raise ValueError("not a cassette: 'request' is missing")
    request = data["request"]
    messages = request.get("messages")
    if not isinstance(messages, list) or not all(_is_message(m) for m in messages):
        raise ValueError("'request.messages' is not a list of {role, content} objects")
    params = request.get("params") or {}
    defaults = data.get("model_defaults") or {}
    if not isinstance(params, dict) or not isinstance(defaults, dict):
        raise ValueError("'request.params' and 'model_defaults' must be objects")
    default_params = defaults.get("params") or {}
    default_system = defaults.get("system")
    if not isinstance(default_params, dict) or not isinstance(default_system, str | None):
        raise ValueError("'model_defaults' must hold a 'system' string and a 'params' object")
    legacy = "answers" not in data
    answers = (
        (Answer(response_from_dict(data.get("response"))),)
        if legacy
        else _read_answers(data["answers"])
    )
    return Cassette(
        path=path,
        key=str(data.get("key") or path.stem),
        adapter=str(request.get("adapter") or ""),
        model=str(request.get("model") or ""),
        messages=tuple(Message(role=m["role"], content=m["content"]) for m in messages),
        params=params,
        answers=answers,
        default_system=default_system,
        default_params=default_params,
        legacy=legacy,
    )


def _read_answers(value: Any) -> tuple[Answer, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("'answers' is not a non-empty list")
    answers = []
    for number, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"answers[{number}] is not an object")
        case, attempt = item.get("case"), item.get("attempt")
        if not isinstance(case, str | None):
            raise ValueError(f"answers[{number}].case is not a string or null")
        if attempt is not None and (
            not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 0
        ):
            raise ValueError(f"answers[{number}].attempt is not a whole number from 0")
        try:
            response = response_from_dict(item.get("response"))
        except ValueError as exc:
            raise ValueError(f"answers[{number}].response: {exc}") from None
        answers.append(Answer(response, case, attempt))
    return tuple(answers)


def _is_message(value: object) -> bool:
    return (
        isinstance(value, dict)
        and value.get("role") in ("system", "user", "assistant")
        and isinstance(value.get("content"), str)
    )


class CassetteRecorder:
    """Keeps every answer in one cassette file per request in ``folder``; safe across
    processes.

    An answer takes the place of its request's (case, attempt) in the file; an answer
    unchanged but for its latency leaves the file alone, so a re-record shows in
    ``git diff`` only where an answer changed.
    """

    def __init__(self, folder: Path | str, *, redactor: Redactor | None = None) -> None:
        self.folder = Path(folder)
        self.redactor = redactor if redactor is not None else Redactor()
        self.recorded = 0

    def path_for(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def record(self, model: ModelConfig, request: Request, response: Response) -> Path:
        """Keep ``response`` as the answer of ``request``'s case and attempt
        (:func:`~llmtest.adapters.layers.stored.attempt_of`)."""
        key = request_key(model, request)
        header: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "key": key,
            "request": {
                "adapter": model.adapter,
                "model": model.model,
                "messages": [
                    {"role": m["role"], "content": m["content"]}
                    for m in effective_messages(model, request)
                ],
                "params": dict(sorted(effective_params(model, request).items())),
            },
        }
        defaults = merge_params(model.params)
        if model.system or defaults:
            header["model_defaults"] = {
                "system": model.system,
                "params": dict(sorted(defaults.items())),
            }
        header = self.redactor.value(header)
        answer = self.redactor.value(
            {
                "case": case_of(request),
                "attempt": attempt_of(request),
                "response": response_to_dict(response),
            }
        )
        path = self.path_for(key)
        with folder_lock(self.folder):
            existing = _read_json(path)
            entry = {**header, "answers": _merged(existing, answer)}
            if entry != existing:
                text = json.dumps(entry, ensure_ascii=False, indent=2) + "\n"
                write_atomic(path, self.redactor(text))
        self.recorded += 1
        return path


class RecordingAdapter:
    """Stores every successful answer of ``inner`` as a cassette; errors pass untouched.

    The outermost layer: it claims each call's attempt number
    (:func:`~llmtest.adapters.layers.stored.claim_attempt`) and hands the stamped request
    inwards, so the cache below keeps the same attempt apart as the cassette does.
    """

    def __init__(self, inner: Adapter, model: ModelConfig, recorder: CassetteRecorder) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = model
        self.recorder = recorder

    async def complete(self, request: Request) -> Response:
        request, release = claim_attempt(request)
        try:
            response = await self.inner.complete(request)
        except BaseException:
            release()  # the retry of this attempt takes its number again
            raise
        self.recorder.record(self.model, request, response)
        return response

    def is_cached(self, request: Request) -> bool:
        return isinstance(self.inner, CachingLayer) and self.inner.is_cached(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _merged(existing: Any, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers of ``existing`` (a file's JSON, or None) with ``answer`` in its place.

    A version 1 file's single answer is dropped: which case and attempt got it is not
    known, and the file is being recorded again.
    """
    kept: list[dict[str, Any]] = []
    slot = _slot(answer)
    if isinstance(existing, dict) and isinstance(existing.get("answers"), list):
        for old in existing["answers"]:
            if not isinstance(old, dict):
                continue
            if _slot(old) != slot:
                kept.append(old)
            elif _without_latency(old) == _without_latency(answer):
                answer = old
    kept.append(answer)
    kept.sort(key=_order)
    return kept


def _slot(answer: Mapping[str, Any]) -> tuple[Any, Any]:
    return (answer.get("case"), answer.get("attempt"))


def _order(answer: Mapping[str, Any]) -> tuple[bool, str, int]:
    """Calls outside any case first, then by case, each case's answers in attempt order."""
    case, attempt = _slot(answer)
    return (
        isinstance(case, str),
        case if isinstance(case, str) else "",
        attempt if isinstance(attempt, int) else -1,
    )


def _without_latency(answer: Mapping[str, Any]) -> dict[str, Any]:
    response = answer.get("response")
    if not isinstance(response, Mapping):
        return dict(answer)
    return {**answer, "response": {k: v for k, v in response.items() if k != "latency_ms"}}
