"""The OpenAI Chat Completions adapter, over the official ``openai`` SDK.

Also serves OpenAI-compatible servers (vLLM, llama.cpp, Ollama, LiteLLM): set
``base_url`` (ending in ``/v1``) and, if the server needs no key, leave the key unset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from llmtest.adapters._provider import (
    MalformedResponse,
    ProviderAdapter,
    SDKErrors,
    int_or_none,
    str_or_none,
)
from llmtest.adapters.base import Message, Usage

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam

_KEYWORD_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop")


class OpenAIAdapter(ProviderAdapter["AsyncOpenAI"]):
    """``openai:<model>``: one chat completion per request.

    ``temperature``, ``max_tokens``, ``top_p``, ``seed`` and ``stop`` are passed as the
    SDK's own arguments; any other param goes into the request body as is
    (``extra_body``), so provider-specific knobs such as ``max_completion_tokens`` or
    ``reasoning_effort`` reach the server.
    """

    name = "openai"
    default_key_env = "OPENAI_API_KEY"

    def _create_client(self, api_key: str) -> tuple[AsyncOpenAI, SDKErrors]:
        import openai

        client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.config.base_url,
            timeout=self.config.timeout_s,
            max_retries=0,
        )
        errors = SDKErrors(
            base=openai.OpenAIError,
            status=openai.APIStatusError,
            timeout=openai.APITimeoutError,
            connection=openai.APIConnectionError,
            validation=openai.APIResponseValidationError,
        )
        return client, errors

    async def _send(
        self, client: AsyncOpenAI, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> object:
        known = {key: params[key] for key in _KEYWORD_PARAMS if key in params}
        extra = {key: value for key, value in params.items() if key not in _KEYWORD_PARAMS}
        return await client.chat.completions.create(
            model=self.config.model,
            messages=cast("list[ChatCompletionMessageParam]", list(messages)),
            extra_body=extra or None,
            **known,
        )

    def _read(self, result: object) -> tuple[str, str | None, Usage, str | None]:
        from openai.types.chat import ChatCompletion

        if not isinstance(result, ChatCompletion):
            raise MalformedResponse("not a chat completion", result)
        choices: object = result.choices
        if not isinstance(choices, list) or not choices:
            raise MalformedResponse("no choices", result)
        message = getattr(choices[0], "message", None)
        if message is None:
            raise MalformedResponse("the first choice has no message", result)
        content = message.content
        if content is not None and not isinstance(content, str):
            raise MalformedResponse("the message content is not text", result)
        usage = result.usage
        return (
            content or "",
            str_or_none(result.model),
            Usage(
                input_tokens=int_or_none(getattr(usage, "prompt_tokens", None)),
                output_tokens=int_or_none(getattr(usage, "completion_tokens", None)),
            ),
            str_or_none(getattr(choices[0], "finish_reason", None)),
        )

    async def _close_client(self, client: AsyncOpenAI) -> None:
        await client.close()

    def _client_base_url(self, client: AsyncOpenAI) -> str:
        return str(client.base_url)
