"""A deterministic adapter: answers with the prompt. For docs, tests and dry runs."""

from __future__ import annotations

import time

from llmtest.adapters.base import Request, Response, Usage
from llmtest.config.project import ModelConfig


class EchoAdapter:
    """Answers each request with its last user message, or with ``options.reply`` if set.

    Token counts are whitespace-separated words, so token and cost bounds can be tried
    without a provider.
    """

    name = "echo"

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        reply = config.options.get("reply")
        self._reply = reply if isinstance(reply, str) else None

    async def complete(self, request: Request) -> Response:
        started = time.perf_counter()
        text = self._reply if self._reply is not None else request.prompt
        prompt_words = sum(len(m["content"].split()) for m in request.messages)
        return Response(
            text=text,
            model=self.config.model or "echo",
            latency_ms=(time.perf_counter() - started) * 1000,
            usage=Usage(input_tokens=prompt_words, output_tokens=len(text.split())),
            cost_usd=0.0,
        )

    async def aclose(self) -> None:
        return None
