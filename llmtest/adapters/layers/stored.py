"""A request's identity and a response as the layers keep them on disk: one home for what
the cache, the cassette recorder and the replay adapter share."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
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
