"""Cassettes: request/response pairs recorded to disk, replayed by the ``replay`` adapter.

One JSON file per request, named by :func:`llmtest.adapters.layers.stored.request_key`, so
adding a case adds one file and re-recording a case rewrites only its own. A file holds the
request as the provider received it (adapter, model id, messages, params) and the response
fields; never headers, API keys or the base_url, and every string passes through
:class:`~llmtest.config.secrets.Redactor`::

    {
      "version": 1,
      "key": "3fa2…",
      "request": {"adapter": "openai", "model": "gpt-4o-mini",
                  "messages": [{"role": "user", "content": "…"}], "params": {"temperature": 0}},
      "model_defaults": {"system": "…", "params": {"temperature": 0}},
      "response": {"text": "…", "model": "gpt-4o-mini-2024-07-18",
                   "usage": {"input_tokens": 12, "output_tokens": 30}, "cost_usd": 2.1e-05,
                   "finish_reason": "stop", "latency_ms": 412.3}
    }

``model_defaults`` (present only when the recorded model's configuration had a system
prompt or params) is what that configuration added to every request; replay adds it
back, so a suite recorded with an alias replays under a bare ``replay:cassettes/``.
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
    effective_messages,
    effective_params,
    merge_params,
    request_key,
    response_from_dict,
    response_to_dict,
    write_atomic,
)
from llmtest.config.project import ModelConfig
from llmtest.config.secrets import Redactor

FORMAT_VERSION = 1


def cassette_folder(config: ModelConfig) -> Path:
    """The folder a ``replay:FOLDER`` spec names: relative to the project root, else cwd."""
    folder = Path(config.model).expanduser()
    if not folder.is_absolute() and config.root:
        folder = Path(config.root) / folder
    return folder


@dataclass(frozen=True)
class Cassette:
    """One recorded request and its answer, as read back from its file."""

    path: Path
    key: str
    adapter: str
    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any]
    response: Response
    default_system: str | None = None
    default_params: Mapping[str, Any] = field(default_factory=dict)

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
    return Cassette(
        path=path,
        key=str(data.get("key") or path.stem),
        adapter=str(request.get("adapter") or ""),
        model=str(request.get("model") or ""),
        messages=tuple(Message(role=m["role"], content=m["content"]) for m in messages),
        params=params,
        response=response_from_dict(data.get("response")),
        default_system=default_system,
        default_params=default_params,
    )


def _is_message(value: object) -> bool:
    return (
        isinstance(value, dict)
        and value.get("role") in ("system", "user", "assistant")
        and isinstance(value.get("content"), str)
    )


class CassetteRecorder:
    """Writes one cassette file per request into ``folder``; safe across processes.

    A file whose answer is unchanged is left alone (a new latency alone does not count),
    so a re-record shows in ``git diff`` only where an answer changed.
    """

    def __init__(self, folder: Path | str, *, redactor: Redactor | None = None) -> None:
        self.folder = Path(folder)
        self.redactor = redactor if redactor is not None else Redactor()
        self.recorded = 0

    def path_for(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def record(self, model: ModelConfig, request: Request, response: Response) -> Path:
        key = request_key(model, request)
        entry: dict[str, Any] = {
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
            entry["model_defaults"] = {
                "system": model.system,
                "params": dict(sorted(defaults.items())),
            }
        entry["response"] = response_to_dict(response)
        entry = self.redactor.value(entry)
        path = self.path_for(key)
        if not _same_answer(path, entry):
            text = json.dumps(entry, ensure_ascii=False, indent=2) + "\n"
            write_atomic(path, self.redactor(text))
        self.recorded += 1
        return path


class RecordingAdapter:
    """Stores every successful answer of ``inner`` as a cassette; errors pass untouched."""

    def __init__(self, inner: Adapter, model: ModelConfig, recorder: CassetteRecorder) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = model
        self.recorder = recorder

    async def complete(self, request: Request) -> Response:
        response = await self.inner.complete(request)
        self.recorder.record(self.model, request, response)
        return response

    def is_cached(self, request: Request) -> bool:
        return isinstance(self.inner, CachingLayer) and self.inner.is_cached(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _same_answer(path: Path, entry: Mapping[str, Any]) -> bool:
    """Whether ``path`` already holds ``entry``, latency aside."""
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(existing, dict) and _without_latency(existing) == _without_latency(entry)


def _without_latency(entry: Mapping[str, Any]) -> dict[str, Any]:
    response = entry.get("response")
    if not isinstance(response, Mapping):
        return dict(entry)
    return {**entry, "response": {k: v for k, v in response.items() if k != "latency_ms"}}
