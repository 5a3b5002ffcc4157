"""The Anthropic Messages adapter, over the official ``anthropic`` SDK."""

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
    from anthropic import AsyncAnthropic
    from anthropic.types import MessageParam

DEFAULT_MAX_TOKENS = 1024
"""The Messages API requires ``max_tokens``; this is used when no param sets it."""

_HANDLED_PARAMS = ("max_tokens", "stop", "seed")


class AnthropicAdapter(ProviderAdapter["AsyncAnthropic"]):
    """``anthropic:<model>``: one message per request.

    System messages go to the ``system`` parameter, the rest to ``messages``.
    ``max_tokens`` defaults to 1024; ``stop`` becomes ``stop_sequences``; ``seed`` is
    dropped (the API has none, and a suite that sets it should still run here). Every
    other param goes into the request body as is (``extra_body``): ``temperature`` and
    ``top_p`` too, since the SDK's ``create()`` no longer names them although the API
    accepts them, and knobs such as ``top_k`` reach the API the same way.
    """

    name = "anthropic"
    default_key_env = "ANTHROPIC_API_KEY"

    def _create_client(self, api_key: str) -> tuple[AsyncAnthropic, SDKErrors]:
        import anthropic

        client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self.config.base_url,
            timeout=self.config.timeout_s,
            max_retries=0,
        )
        errors = SDKErrors(
            base=anthropic.AnthropicError,
            status=anthropic.APIStatusError,
            timeout=anthropic.APITimeoutError,
            connection=anthropic.APIConnectionError,
            validation=anthropic.APIResponseValidationError,
        )
        return client, errors

    async def _send(
        self, client: AsyncAnthropic, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> object:
        import anthropic

        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        stop = params.get("stop")
        stop_sequences = [stop] if isinstance(stop, str) else list(stop or ())
        extra = {key: value for key, value in params.items() if key not in _HANDLED_PARAMS}
        return await client.messages.create(
            model=self.config.model,
            max_tokens=params.get("max_tokens", DEFAULT_MAX_TOKENS),
            messages=cast("list[MessageParam]", turns),
            system=system or anthropic.omit,
            stop_sequences=stop_sequences or anthropic.omit,
            extra_body=extra or None,
        )

    def _read(self, result: object) -> tuple[str, str | None, Usage, str | None]:
        from anthropic.types import Message as AnthropicMessage
        from anthropic.types import TextBlock

        if not isinstance(result, AnthropicMessage):
            raise MalformedResponse("not a message", result)
        content: object = result.content
        if not isinstance(content, list):
            raise MalformedResponse("no content", result)
        texts = [block.text for block in content if isinstance(block, TextBlock)]
        if not all(isinstance(text, str) for text in texts):
            raise MalformedResponse("a text block has no text", result)
        usage = result.usage
        return (
            "".join(texts),
            str_or_none(result.model),
            Usage(
                input_tokens=int_or_none(getattr(usage, "input_tokens", None)),
                output_tokens=int_or_none(getattr(usage, "output_tokens", None)),
            ),
            str_or_none(result.stop_reason),
        )

    async def _close_client(self, client: AsyncAnthropic) -> None:
        await client.close()

    def _client_base_url(self, client: AsyncAnthropic) -> str:
        return str(client.base_url)
