"""The Anthropic Messages adapter, over the official ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmtest.adapters._provider import (
    MalformedResponse,
    ProviderAdapter,
    int_or_none,
    str_or_none,
)
from llmtest.adapters.base import Message, Usage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic  # noqa: F401 - the client type named in the base class

DEFAULT_MAX_TOKENS = 1024
"""The Messages API requires ``max_tokens``; this is used when no param sets it."""

_DROPPED_PARAMS = ("seed",)


class AnthropicAdapter(ProviderAdapter["AsyncAnthropic"]):
    """``anthropic:<model>``: one message per request.

    System messages go to the ``system`` parameter, the rest to ``messages``.
    ``max_tokens`` defaults to 1024; ``stop`` becomes ``stop_sequences``; ``seed`` is
    dropped (the API has none, and a suite that sets it should still run here). Every
    other param (``temperature``, ``top_p``, ``top_k``, …) goes into the body as is.
    """

    name = "anthropic"
    default_key_env = "ANTHROPIC_API_KEY"
    example_model = "claude-sonnet-4-5"
    client_class = "AsyncAnthropic"
    base_error = "AnthropicError"
    path = "/v1/messages"

    def _body(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        if system:
            body["system"] = system
        for key, value in params.items():
            if key == "stop":
                stops = [value] if isinstance(value, str) else list(value)
                if stops:
                    body["stop_sequences"] = stops
            elif key not in _DROPPED_PARAMS:
                body[key] = value
        return body

    def _read(self, result: object) -> tuple[str, str | None, Usage, str | None]:
        if not isinstance(result, Mapping) or result.get("type", "message") != "message":
            raise MalformedResponse("not a message", result)
        content = result.get("content")
        if not isinstance(content, list):
            raise MalformedResponse("no content", result)
        blocks = [b for b in content if isinstance(b, Mapping) and b.get("type") == "text"]
        texts = [block.get("text") for block in blocks]
        if not all(isinstance(text, str) for text in texts):
            raise MalformedResponse("a text block has no text", result)
        usage = result.get("usage")
        usage = usage if isinstance(usage, Mapping) else {}
        return (
            "".join(str(text) for text in texts),
            str_or_none(result.get("model")),
            Usage(
                input_tokens=int_or_none(usage.get("input_tokens")),
                output_tokens=int_or_none(usage.get("output_tokens")),
            ),
            str_or_none(result.get("stop_reason")),
        )
