"""The OpenAI Chat Completions adapter, over the official ``openai`` SDK.

Also serves OpenAI-compatible servers (vLLM, llama.cpp, Ollama, LiteLLM): set
``base_url`` (ending in ``/v1``) and, if the server needs no key, leave the key unset.
"""

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
    from openai import AsyncOpenAI  # noqa: F401 - the client type named in the base class


class OpenAIAdapter(ProviderAdapter["AsyncOpenAI"]):
    """``openai:<model>``: one chat completion per request.

    Every param (``temperature``, ``max_tokens``, ``seed``, ``stop``, and provider
    knobs such as ``max_completion_tokens``, ``reasoning_effort`` or vLLM's ``top_k``)
    goes into the request body as is.
    """

    name = "openai"
    default_key_env = "OPENAI_API_KEY"
    example_model = "gpt-4o-mini"
    client_class = "AsyncOpenAI"
    base_error = "OpenAIError"
    path = "/chat/completions"

    def _body(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        return {"model": self.config.model, "messages": list(messages), **params}

    def _read(self, result: object) -> tuple[str, str | None, Usage, str | None]:
        if not isinstance(result, Mapping):
            raise MalformedResponse("not a chat completion", result)
        choices = result.get("choices")
        if not isinstance(choices, list) or not choices:
            raise MalformedResponse("no choices", result)
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, Mapping) else None
        if not isinstance(message, Mapping):
            raise MalformedResponse("the first choice has no message", result)
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise MalformedResponse("the message content is not text", result)
        usage = result.get("usage")
        usage = usage if isinstance(usage, Mapping) else {}
        return (
            content or "",
            str_or_none(result.get("model")),
            Usage(
                input_tokens=int_or_none(usage.get("prompt_tokens")),
                output_tokens=int_or_none(usage.get("completion_tokens")),
            ),
            str_or_none(choice.get("finish_reason")),
        )
