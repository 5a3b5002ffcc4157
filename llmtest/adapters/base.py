"""The adapter protocol: one request in, one response out, whatever the provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, runtime_checkable

if TYPE_CHECKING:
    from llmtest.config.project import ModelConfig

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(frozen=True)
class Request:
    """What an adapter is asked.

    ``params`` holds generation settings (temperature, max_tokens, seed, stop, …) that an
    adapter passes on where its provider knows them; ``metadata`` carries the case's
    identity for adapters that route or log by case.
    """

    messages: Sequence[Message]
    params: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The last user message: what a single-string model function is given."""
        return last_user_message(self.messages)

    @property
    def system(self) -> str | None:
        parts = [m["content"] for m in self.messages if m["role"] == "system"]
        return "\n\n".join(parts) if parts else None


@dataclass(frozen=True)
class Response:
    """What came back. ``latency_ms`` is measured by the adapter around the provider call."""

    text: str
    model: str | None = None
    latency_ms: float | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    raw: Any = None
    finish_reason: str | None = None


@runtime_checkable
class Adapter(Protocol):
    """Anything with an async ``complete``; ``aclose`` releases connections at the end.

    An adapter may also be a :class:`ReservingAdapter` or a :class:`CachingLayer`, and its
    factory a :class:`CheckingFactory`: the engine and the resolver ask for these by
    ``isinstance``, so an adapter without them needs nothing.
    """

    name: str

    async def complete(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ReservingAdapter(Protocol):
    """An adapter that can serve one call at a time (an in-process model): the engine
    enters ``reserve()`` before taking a concurrency slot and starting the call's timeout,
    so waiting for the model's turn never counts as the call being slow."""

    def reserve(self) -> AbstractAsyncContextManager[None]: ...


@runtime_checkable
class CachingLayer(Protocol):
    """A layer that answers some requests without the model: the engine spends no rate
    limit budget and no model turn on a request for which ``is_cached`` is true."""

    def is_cached(self, request: Request) -> bool: ...


@runtime_checkable
class CheckingFactory(Protocol):
    """An adapter factory that can say what is wrong with a model's config before any
    call: asked once, when the model is first named; raises ConfigError."""

    def check_config(self, config: ModelConfig) -> None: ...


def last_user_message(messages: Sequence[Message]) -> str:
    """The prompt of a conversation: its last user message ('' if it has none)."""
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""


def build_messages(prompt: str | Sequence[Message], system: str | None = None) -> list[Message]:
    """Turn a prompt string or a message list into messages, with the system prompt first."""
    if isinstance(prompt, str):
        messages: list[Message] = [{"role": "user", "content": prompt}]
    else:
        messages = [Message(role=m["role"], content=m["content"]) for m in prompt]
    if system and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return messages
