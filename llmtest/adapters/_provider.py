"""What the OpenAI and Anthropic adapters share: keys, prices, the call, and its errors.

Both official SDKs are generated from the same template, so their exception hierarchies
match (``APIStatusError`` with ``status_code`` and ``response.headers``,
``APITimeoutError`` under ``APIConnectionError``, ``APIResponseValidationError``). The
classification of those exceptions into :class:`ModelCallError` lives here once: the
engine retries what is retryable and honours ``retry_after``; the SDKs never retry.
"""

from __future__ import annotations

import email.utils
import importlib
import json
import math
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from llmtest._gc import gc_paused
from llmtest.adapters.base import Message, Request, Response, Usage, build_messages
from llmtest.config.project import ModelConfig, model_label
from llmtest.config.secrets import Redactor
from llmtest.errors import ConfigError, ModelCallError

PLACEHOLDER_API_KEY = "unused"
"""Sent to local OpenAI-compatible servers (vLLM, llama.cpp, Ollama) that need no key."""

_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_EXCERPT_CHARS = 120
_MESSAGE_CHARS = 300

ClientT = TypeVar("ClientT")
_JSON_OBJECT = dict[str, object]
"""The SDKs' ``cast_to`` for "the JSON object as it came" (both need the item type)."""


@dataclass(frozen=True)
class SDKErrors:
    """The exception classes of one SDK, so one classifier serves both."""

    base: type[Exception]
    status: type[Exception]
    timeout: type[Exception]
    connection: type[Exception]
    validation: type[Exception]


class _SDKClient(Protocol):
    """What the adapters use of ``AsyncOpenAI`` and ``AsyncAnthropic`` (one template)."""

    base_url: object

    async def post(self, path: str, *, cast_to: type[Any], body: object) -> object: ...

    async def close(self) -> None: ...


class ProviderAdapter(ABC, Generic[ClientT]):
    """The shape of an adapter over an official provider SDK.

    The SDK is imported and its async client created on the first ``complete()``, on
    the engine's event loop; ``aclose()`` closes it. The API key comes only from the
    environment and is redacted from everything the adapter returns or raises.
    """

    name: str
    default_key_env: ClassVar[str]
    path: ClassVar[str]
    """The endpoint under the client's base URL."""
    example_model: ClassVar[str]
    """Named in the error for a config that names no model."""
    client_class: ClassVar[str]
    """The SDK's async client, in the SDK's package of the adapter's ``name``."""
    base_error: ClassVar[str]
    """The SDK's root exception class."""

    @classmethod
    def check_config(cls, config: ModelConfig) -> None:
        """What can be wrong before any call (ModelResolver asks): a missing model name,
        a ``headers`` table that is not strings or names an unset variable."""
        config.headers()
        if not config.model:
            raise ConfigError(
                f"{model_label(config.name)}: the {cls.name} adapter needs a model name: "
                f"a spec such as {cls.name}:{cls.example_model}, or model = "
                f'"{cls.example_model}" in the alias'
            )

    def __init__(self, config: ModelConfig) -> None:
        self.check_config(config)
        self.config = config
        self._prices = _prices(config)
        self._client: ClientT | None = None
        self._errors: SDKErrors | None = None
        self._secret: str | None = None

    def _create_client(self, api_key: str) -> tuple[ClientT, SDKErrors]:
        """Import the SDK and build its async client: SDK retries off (the engine retries),
        over the SDK's own aiohttp transport. Both official SDKs share this shape."""
        sdk = importlib.import_module(self.name)
        base_url, query = _split_query(self.config.base_url)
        client = getattr(sdk, self.client_class)(
            api_key=api_key,
            base_url=base_url,
            timeout=self.config.timeout_s,
            max_retries=0,
            default_headers=self.config.headers() or None,
            # A gateway's ?api-key=… goes on every request; left in base_url, the SDK
            # would append its paths after the query.
            default_query=query or None,
            http_client=sdk.DefaultAioHttpClient(),
        )
        errors = SDKErrors(
            base=getattr(sdk, self.base_error),
            status=sdk.APIStatusError,
            timeout=sdk.APITimeoutError,
            connection=sdk.APIConnectionError,
            validation=sdk.APIResponseValidationError,
        )
        return cast(ClientT, client), errors

    @abstractmethod
    def _body(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON request body for ``path``."""

    @abstractmethod
    def _read(self, result: object) -> tuple[str, str | None, Usage, str | None]:
        """Text, model id, usage and finish reason; ``MalformedResponse`` if absent."""

    async def _send(
        self, client: ClientT, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> object:
        """POST the body through the SDK client: its auth, headers, transport and errors.

        The SDK's documented ``client.post`` for custom requests, not the typed
        ``create()``: the body is the same, and skipping the TypedDict transform and
        the pydantic response model cuts the SDK's CPU per request by a third
        (benchmarks/bench_run.py), which bounds throughput on a small CI machine.
        The answer comes back as the JSON the server sent (a dict), or as text when
        the server did not send JSON.
        """
        sdk_client = cast("_SDKClient", client)
        return await sdk_client.post(
            self.path, body=self._body(messages, params), cast_to=_JSON_OBJECT
        )

    async def complete(self, request: Request) -> Response:
        client = self._ensure_client()
        messages = build_messages(request.messages, self.config.system)
        params = {
            key: value
            for key, value in {**self.config.params, **request.params}.items()
            if value is not None
        }
        started = time.perf_counter()
        try:
            result = await self._send(client, messages, params)
        except Exception as exc:
            error = self._classify(exc, client)
            if error is None:
                raise
            raise error from None
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            text, model, usage, finish_reason = self._read(result)
        except (AttributeError, TypeError, IndexError, KeyError) as exc:
            malformed = MalformedResponse(f"unexpected shape: {exc}", result)
            raise self._error(malformed.describe(), client) from None
        except MalformedResponse as exc:
            raise self._error(exc.describe(), client) from None
        raw: Any = result
        if self._secret and self._secret in json.dumps(raw, default=str):
            raw = Redactor((self._secret,)).value(raw)
        return Response(
            text=text,
            model=model,
            latency_ms=latency_ms,
            usage=usage,
            cost_usd=self._cost(usage),
            raw=raw,
            finish_reason=finish_reason,
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await cast("_SDKClient", client).close()

    def _ensure_client(self) -> ClientT:
        if self._client is not None:
            return self._client
        key_env = self.config.api_key_env or self.default_key_env
        api_key = os.environ.get(key_env) or None
        if api_key is None:
            if not self.config.base_url:
                alias = self.config.name if ":" not in self.config.name else "<alias>"
                raise ModelCallError(
                    f"{self._who()}: {key_env} is not set; export it or set api_key_env "
                    f"in [tool.llmtest.models.{alias}]",
                    retryable=False,
                )
            api_key = PLACEHOLDER_API_KEY
        else:
            self._secret = api_key
        try:
            # Importing the SDK builds its modules and models, alive until exit.
            with gc_paused():
                self._client, self._errors = self._create_client(api_key)
        except Exception as exc:  # noqa: BLE001 - a broken SDK install is the case's error
            raise ModelCallError(
                f"{self._who()}: cannot create the client: {self._clean(str(exc))}",
                retryable=False,
            ) from None
        return self._client

    def _who(self) -> str:
        return f"{self.name} model {self.config.model!r}"

    def _error(
        self,
        what: str,
        client: ClientT,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> ModelCallError:
        where = str(cast("_SDKClient", client).base_url).rstrip("/")
        return ModelCallError(
            self._clean(f"{self._who()} at {where}: {what}"),
            retryable=retryable,
            retry_after=retry_after,
            status=status,
        )

    def _clean(self, message: str) -> str:
        """One line, and never the API key, even if a server echoes it back."""
        message = " ".join(message.split())
        return Redactor((self._secret,))(message) if self._secret else message

    def _classify(self, exc: Exception, client: ClientT) -> ModelCallError | None:
        """The ModelCallError for an exception from the SDK call; None if it is not one."""
        import httpx2

        errors = self._errors
        assert errors is not None
        if isinstance(exc, errors.validation):
            status = getattr(exc, "status_code", None)
            body = getattr(exc, "body", None)
            return self._error(
                f"the server sent a malformed response (it does not match the schema): "
                f"{_excerpt(body)}",
                client,
                status=status if isinstance(status, int) else None,
            )
        root = _root_cause(exc)
        if isinstance(exc, (errors.timeout, httpx2.TimeoutException)) and (
            root is exc or isinstance(root, (TimeoutError, httpx2.TimeoutException))
        ):
            return self._error(
                f"timed out after {self.config.timeout_s:g}s", client, retryable=True
            )
        if isinstance(exc, (errors.connection, httpx2.TransportError)):
            # The aiohttp transport reports a dropped or refused connection as a
            # ConnectTimeout; the root cause says what really happened.
            detail = str(root) or type(root).__name__
            return self._error(f"connection failed: {detail}", client, retryable=True)
        if isinstance(exc, errors.status):
            status = int(getattr(exc, "status_code", 0))
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None)
            retry_after = parse_retry_after(headers) if isinstance(headers, Mapping) else None
            message = _server_message(getattr(exc, "body", None)) or _reason(status)
            hint = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
            return self._error(
                f"HTTP {status}: {message}{hint}",
                client,
                retryable=status in _RETRYABLE_STATUSES or status >= 500,
                retry_after=retry_after,
                status=status,
            )
        if isinstance(exc, json.JSONDecodeError):
            return self._error(
                f"the server sent a malformed response (invalid JSON: {exc.msg}): "
                f"{_excerpt(exc.doc)}",
                client,
            )
        if isinstance(exc, errors.base):
            return self._error(f"{type(exc).__name__}: {exc}", client)
        return None

    def _cost(self, usage: Usage) -> float | None:
        if self._prices is None or usage.input_tokens is None or usage.output_tokens is None:
            return None
        input_price, output_price = self._prices
        return (usage.input_tokens * input_price + usage.output_tokens * output_price) / 1e6


class MalformedResponse(Exception):
    """A 2xx response the SDK parsed but that lacks what an answer needs."""

    def __init__(self, reason: str, payload: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.excerpt = _excerpt(payload)

    def describe(self) -> str:
        return f"the server sent a malformed response ({self.reason}): {self.excerpt}"


def int_or_none(value: object) -> int | None:
    """A token count from a leniently parsed response: an int, or unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _split_query(base_url: str | None) -> tuple[str | None, dict[str, str]]:
    """``base_url`` without its query string, and the query's parameters."""
    if not base_url or "?" not in base_url:
        return base_url, {}
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(query="")), dict(parse_qsl(parts.query))


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            pass
        else:
            if math.isfinite(value) and value >= 0:
                return value
    header = headers.get("retry-after")
    if not header:
        return None
    try:
        value = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return value if math.isfinite(value) and value >= 0 else None


def _prices(config: ModelConfig) -> tuple[float, float] | None:
    """USD per million input and output tokens from ``options``, if either is set."""
    names = ("input_cost_per_mtok", "output_cost_per_mtok")
    if all(config.options.get(name) is None for name in names):
        return None
    prices: list[float] = []
    for name in names:
        value = config.options.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"model {config.name!r}: {name} must be a number (USD per million tokens) "
                f"when a price is given, got {value!r}"
            )
        prices.append(float(value))
    return prices[0], prices[1]


def _server_message(body: object) -> str | None:
    """``error.message`` (both providers), ``message``, or the text of a non-JSON body."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return " ".join(str(error["message"]).split())[:_MESSAGE_CHARS] or None
        if isinstance(error, str) and error.strip():
            return " ".join(error.split())[:_MESSAGE_CHARS]
        return _excerpt(body)
    if isinstance(body, str) and body.strip():
        return _excerpt(body)
    return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else "no error message"


def _excerpt(payload: object) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return repr(text)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception the SDK and its transport wrapped."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc
