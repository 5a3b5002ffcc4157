"""A local stand-in for the OpenAI and Anthropic HTTP APIs, for tests and benchmarks.

The official SDKs talk to it over real HTTP on 127.0.0.1, so adapters are tested end to
end without the internet or an API key. It speaks two wire formats on one port:

* OpenAI Chat Completions, ``POST /v1/chat/completions``: give the OpenAI SDK
  ``base_url=server.openai_base_url`` (``http://127.0.0.1:PORT/v1``, also ``server.url``).
* Anthropic Messages, ``POST /v1/messages``: the Anthropic SDK appends ``/v1/messages``
  itself, so give it ``base_url=server.anthropic_base_url`` (the root,
  ``http://127.0.0.1:PORT``).

Replies are deterministic: the first ``replies`` entry whose key is a substring of the
last user message, else ``reply(model, messages)`` if given, else ``"echo: <last user
message>"``. Usage counts whitespace-separated words of the prompt (every message,
system included) and of the reply. ``max_tokens`` truncates the reply to that many
words (finish reason ``length`` / ``max_tokens``) and a stop sequence cuts it short.

Behaviour is chosen per request by the model name, so one server serves every case:

==================  ===============================================================
model               behaviour
==================  ===============================================================
``status-NNN``      HTTP NNN with the provider's error body (429/503/529 add
                    ``retry-after``)
``flaky-N``         the first N requests for the same (model, prompt) get 503, then
                    normal answers; ``flaky-429-N`` fails with 429 instead
``slow-MS``         a normal answer after MS milliseconds instead of ``delay``
``malformed``       200 with an ``application/json`` body that is not valid JSON
``html``            200 with a ``text/html`` body (a proxy's error page)
``bad-shape``       200 with valid JSON missing every expected field
``empty-choices``   200 with ``choices: []`` (OpenAI) / ``content: []`` (Anthropic)
``hang``            never answers; the connection closes when the client gives up
``drop``            closes the connection without a response
anything else       a normal answer
==================  ===============================================================

For load tests ``fault_rates={"429": 0.2, "503": 0.1, "hang": 0.05}`` injects faults
into requests for ordinary models. Keys are status codes or the fault names above. The
draw for the n-th request of a (model, prompt) is a hash of ``seed``, model, prompt and
n, so which requests fail does not depend on their arrival order.

In-process use runs the asyncio server on a background thread::

    with FakeLLMServer(delay=0.2) as server:
        client = openai.AsyncOpenAI(base_url=server.url, api_key="unused")

As its own process (benchmarks), it prints ``listening on http://127.0.0.1:PORT``::

    python -m tests.support.llm_server --port 0 --delay 0.2 --fault-rate 429=0.2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

ReplyFunction = Callable[[str, list[dict[str, str]]], str]
"""``reply(model, messages) -> text``; messages are ``{"role", "content"}`` dicts, the
Anthropic ``system`` parameter included as a leading system message."""

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"

_STATUS_MODEL = re.compile(r"status-(\d{3})")
_FLAKY_MODEL = re.compile(r"flaky(?:-(\d{3}))?-(\d+)")
_SLOW_MODEL = re.compile(r"slow-(\d+)")
_BODY_FAULTS = ("malformed", "html", "bad-shape", "empty-choices")
_CONNECTION_FAULTS = ("hang", "drop")
FAULT_NAMES = (*_BODY_FAULTS, *_CONNECTION_FAULTS)
_RETRY_AFTER_STATUSES = frozenset({429, 503, 529})

_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it: what a test asserts the SDK sent."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Header names lower-cased; repeated headers joined with ``", "``."""
    body: Any
    """The parsed JSON body, or None when the body was not JSON."""
    time: float
    """``time.time()`` when the request was read."""
    model: str
    prompt: str
    """The last user message."""
    fault: str | None
    """The fault served (``"status-503"``, ``"hang"``, …), None for a normal answer."""
    query: str = ""
    """The request target's query string, without the ``?``."""


@dataclass
class _HTTPRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool
    query: str = ""


@dataclass
class _HTTPReply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Sequence[tuple[str, str]] = ()
    action: str | None = None
    """``"hang"`` or ``"drop"`` instead of a response."""


class _BadHTTP(Exception):
    """The bytes on the wire are not an HTTP/1.1 request we can parse."""


class FakeLLMServer:
    """A real HTTP server on 127.0.0.1 that answers like OpenAI and Anthropic.

    ``delay`` (seconds) is applied before every response; requests are served
    concurrently, so 128 requests delayed 200 ms finish together in about 200 ms.
    ``retry_after`` is the ``retry-after`` header value sent with 429/503/529 (None
    leaves it out). ``api_key``, when set, makes requests without it (``Authorization:
    Bearer …`` or ``x-api-key``) fail with 401. ``model_ids`` maps a requested model to
    the id the response reports, as providers report dated snapshots. ``record=False``
    keeps long benchmark runs from storing every request.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        replies: Mapping[str, str] | None = None,
        reply: ReplyFunction | None = None,
        retry_after: float | str | None = 1,
        fault_rates: Mapping[str, float] | None = None,
        seed: int = 0,
        api_key: str | None = None,
        model_ids: Mapping[str, str] | None = None,
        record: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.delay = delay
        self.replies = dict(replies or {})
        self.reply = reply
        self.retry_after = retry_after
        self.fault_rates = _check_fault_rates(fault_rates or {})
        self.seed = seed
        self.api_key = api_key
        self.model_ids = dict(model_ids or {})
        self.record = record
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._seen: Counter[tuple[str, str]] = Counter()
        self._served = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """What ``openai.AsyncOpenAI(base_url=…)`` needs: the root plus ``/v1``."""
        return f"{self.root_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """What ``anthropic.AsyncAnthropic(base_url=…)`` needs: the root."""
        return self.root_url

    @property
    def url(self) -> str:
        return self.openai_base_url

    def base_url_for(self, adapter: str) -> str:
        """The base_url for an llmtest adapter name (``"openai"`` or ``"anthropic"``)."""
        return self.anthropic_base_url if adapter == "anthropic" else self.openai_base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request recorded so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, prompt: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.prompt == prompt]

    def clear(self) -> None:
        """Forget recorded requests and the per-prompt counts behind ``flaky-N``."""
        with self._lock:
            self._requests.clear()
            self._seen.clear()

    def start(self) -> FakeLLMServer:
        """Serve on a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeLLMServer is already running")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run_thread, name="FakeLLMServer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection (hanging ones included) and join the thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve(on_ready=lambda _url: self._ready.set()))
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._startup_error = exc
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def serve(
        self,
        *,
        on_ready: Callable[[str], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve on the running loop until ``stop`` is set, then close every connection."""
        self._stop = stop if stop is not None else asyncio.Event()
        server = await asyncio.start_server(
            self._handle_connection, self.host, self.port, backlog=2048
        )
        self.port = server.sockets[0].getsockname()[1]
        if on_ready is not None:
            on_ready(self.root_url)
        try:
            await self._stop.wait()
        finally:
            server.close()
            await self._close_connections()
            await server.wait_closed()

    async def _close_connections(self) -> None:
        """Cancel every connection handler, hanging ones included, and wait for them.

        Handlers accepted just before the listener closed start one loop turn later,
        hence the loop.
        """
        await asyncio.sleep(0)
        while self._connections:
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except _BadHTTP as exc:
                    writer.write(_encode(_error_reply(400, str(exc)), keep_alive=False))
                    await writer.drain()
                    return
                if request is None:
                    return
                try:
                    reply = await self._answer(request)
                except Exception as exc:  # noqa: BLE001 - a server bug becomes a 500
                    traceback.print_exc()
                    reply = _error_reply(500, f"FakeLLMServer bug: {exc!r}")
                if reply.action == "drop":
                    return
                if reply.action == "hang":
                    while await reader.read(65536):
                        pass
                    return
                writer.write(_encode(reply, keep_alive=request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, request: _HTTPRequest) -> _HTTPReply:
        if request.path not in (OPENAI_PATH, ANTHROPIC_PATH) or request.method != "POST":
            return _error_reply(
                404,
                f"no route for {request.method} {request.path}: the OpenAI SDK needs "
                f"base_url={self.openai_base_url}, the Anthropic SDK "
                f"base_url={self.anthropic_base_url}",
            )
        provider = "anthropic" if request.path == ANTHROPIC_PATH else "openai"
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _provider_error(provider, 400, "the request body is not a JSON object")
        model = str(body.get("model", ""))
        messages = _messages(body)
        prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        with self._lock:
            self._seen[(model, prompt)] += 1
            attempt = self._seen[(model, prompt)]
            self._served += 1
            serial = self._served
        fault = self._fault_for(model, prompt, attempt)
        rejected_key = self.api_key is not None and not _has_key(request.headers, self.api_key)
        if rejected_key:
            fault = "status-401"
        if self.record:
            recorded = RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=body,
                time=time.time(),
                model=model,
                prompt=prompt,
                fault=fault,
            )
            with self._lock:
                self._requests.append(recorded)
        slow = _SLOW_MODEL.fullmatch(model)
        delay = int(slow.group(1)) / 1000 if slow else self.delay
        if fault != "hang" and delay > 0:
            await asyncio.sleep(delay)
        if rejected_key:
            presented = request.headers.get("x-api-key") or request.headers.get("authorization")
            # Worst case on purpose: the key comes back in full, so redaction gets tested.
            return _provider_error(provider, 401, f"Incorrect API key provided: {presented}")
        if fault is None:
            return self._success(provider, body, model, messages, serial)
        return self._fault_reply(provider, fault, model, serial)

    def _fault_for(self, model: str, prompt: str, attempt: int) -> str | None:
        if model in FAULT_NAMES:
            return model
        if match := _STATUS_MODEL.fullmatch(model):
            return f"status-{match.group(1)}"
        if match := _FLAKY_MODEL.fullmatch(model):
            status, failures = match.group(1) or "503", int(match.group(2))
            return f"status-{status}" if attempt <= failures else None
        if not self.fault_rates:
            return None
        key = f"{self.seed}\0{model}\0{prompt}\0{attempt}".encode()
        draw = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
        for name, rate in self.fault_rates.items():
            if draw < rate:
                return name
            draw -= rate
        return None

    def _fault_reply(self, provider: str, fault: str, model: str, serial: int) -> _HTTPReply:
        request_id = f"req_{serial:012d}"
        id_header = ("request-id" if provider == "anthropic" else "x-request-id", request_id)
        if match := _STATUS_MODEL.fullmatch(fault):
            status = int(match.group(1))
            reply = _provider_error(
                provider, status, f"{_reason(status)} (simulated for model {model!r})"
            )
            headers = [id_header]
            if status in _RETRY_AFTER_STATUSES and self.retry_after is not None:
                headers.append(("retry-after", str(self.retry_after)))
            reply.headers = headers
            return reply
        if fault in _CONNECTION_FAULTS:
            return _HTTPReply(status=0, body=b"", action=fault)
        if fault == "malformed":
            body = b'{"id": "broken", "choices": [{"message": {"content": "unterminated'
            return _HTTPReply(200, body, headers=[id_header])
        if fault == "html":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return _HTTPReply(200, body, content_type="text/html", headers=[id_header])
        if fault == "bad-shape":
            return _HTTPReply(200, b'{"unexpected": "shape"}', headers=[id_header])
        if provider == "anthropic":
            payload = _anthropic_message(f"msg_{serial:012d}", model, "", "end_turn", None, 0, 0)
            payload["content"] = []
        else:
            payload = _openai_completion(f"chatcmpl-{serial:012d}", model, "", "stop", 0, 0)
            payload["choices"] = []
        return _HTTPReply(200, json.dumps(payload).encode(), headers=[id_header])

    def _success(
        self,
        provider: str,
        body: dict[str, Any],
        model: str,
        messages: list[dict[str, str]],
        serial: int,
    ) -> _HTTPReply:
        request_id = f"req_{serial:012d}"
        text = self._reply_text(model, messages)
        stops = body.get("stop_sequences") if provider == "anthropic" else body.get("stop")
        stop_list = [stops] if isinstance(stops, str) else list(stops or [])
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        text, finish, stop_hit = _apply_limits(text, stop_list, max_tokens)
        input_tokens = sum(len(m["content"].split()) for m in messages)
        output_tokens = len(text.split())
        model_id = self.model_ids.get(model, model)
        if provider == "anthropic":
            reason = {"stop": "stop_sequence", "length": "max_tokens"}.get(finish, "end_turn")
            payload = _anthropic_message(
                f"msg_{serial:012d}", model_id, text, reason, stop_hit, input_tokens, output_tokens
            )
            headers = [("request-id", request_id)]
        else:
            reason = "length" if finish == "length" else "stop"
            payload = _openai_completion(
                f"chatcmpl-{serial:012d}", model_id, text, reason, input_tokens, output_tokens
            )
            headers = [("x-request-id", request_id), ("openai-processing-ms", "1")]
        return _HTTPReply(200, json.dumps(payload).encode(), headers=headers)

    def _reply_text(self, model: str, messages: list[dict[str, str]]) -> str:
        prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        for needle, text in self.replies.items():
            if needle in prompt:
                return text
        if self.reply is not None:
            return self.reply(model, messages)
        return f"echo: {prompt}"


def _check_fault_rates(rates: Mapping[str, float]) -> dict[str, float]:
    checked: dict[str, float] = {}
    for name, rate in rates.items():
        key = f"status-{name}" if re.fullmatch(r"\d{3}", name) else name
        if key not in FAULT_NAMES and not _STATUS_MODEL.fullmatch(key):
            known = ", ".join(FAULT_NAMES)
            raise ValueError(f"unknown fault {name!r}: use a status code such as '429' or {known}")
        if not 0 <= rate <= 1:
            raise ValueError(f"fault rate for {name!r} must be between 0 and 1, got {rate!r}")
        checked[key] = float(rate)
    if sum(checked.values()) > 1:
        raise ValueError(f"fault rates add up to more than 1: {dict(rates)!r}")
    return checked


def _messages(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """The conversation as plain role/content strings, whichever wire format carried it."""
    result: list[dict[str, str]] = []
    system = body.get("system")
    if system:
        result.append({"role": "system", "content": _text_of(system)})
    for message in body.get("messages") or []:
        if isinstance(message, Mapping):
            role = str(message.get("role", "user"))
            result.append({"role": role, "content": _text_of(message.get("content"))})
    return result


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(block.get("text", "")) for block in content if isinstance(block, Mapping)
        )
    return ""


def _apply_limits(text: str, stops: list[str], max_tokens: Any) -> tuple[str, str, str | None]:
    """Cut the reply at the first stop sequence, then at ``max_tokens`` words.

    Returns the text, why it ended (``"end"``, ``"stop"`` or ``"length"``) and the stop
    sequence that ended it.
    """
    finish, stop_hit = "end", None
    cuts = [(text.find(s), s) for s in stops if isinstance(s, str) and s and s in text]
    if cuts:
        index, stop_hit = min(cuts)
        text, finish = text[:index], "stop"
    words = text.split()
    if isinstance(max_tokens, int) and len(words) > max_tokens:
        text, finish, stop_hit = " ".join(words[:max_tokens]), "length", None
    return text, finish, stop_hit


def _openai_completion(
    completion_id: str,
    model: str,
    text: str,
    finish_reason: str,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def _anthropic_message(
    message_id: str,
    model: str,
    text: str,
    stop_reason: str,
    stop_sequence: str | None,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text, "citations": None}],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    }


def _provider_error(provider: str, status: int, message: str) -> _HTTPReply:
    """An error body in the provider's own format, so the SDK builds its own exception."""
    if provider == "anthropic":
        error_type = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        payload: dict[str, Any] = {
            "type": "error",
            "error": {"type": error_type, "message": message},
        }
    else:
        error_type = _OPENAI_ERROR_TYPES.get(status, "server_error")
        payload = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return _HTTPReply(status, json.dumps(payload).encode())


def _error_reply(status: int, message: str) -> _HTTPReply:
    """An error both SDKs read: ``error.message`` is where each looks."""
    payload = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return _HTTPReply(status, json.dumps(payload).encode())


def _has_key(headers: Mapping[str, str], api_key: str) -> bool:
    return (
        headers.get("authorization") == f"Bearer {api_key}" or headers.get("x-api-key") == api_key
    )


def _reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def _encode(reply: _HTTPReply, *, keep_alive: bool) -> bytes:
    head = [
        f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
        f"content-type: {reply.content_type}",
        f"content-length: {len(reply.body)}",
        f"connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in reply.headers),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body


async def _read_request(reader: asyncio.StreamReader) -> _HTTPRequest | None:
    """The next request on a keep-alive connection, or None once the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadHTTP("request headers are too large") from exc
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadHTTP(f"not an HTTP/1.x request line: {request_line[:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadHTTP(f"malformed header line: {line[:80]!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise _BadHTTP("content-length is not a number") from exc
        body = await reader.readexactly(length) if length > 0 else b""
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    path, _, query = target.partition("?")
    return _HTTPRequest(method, path, headers, body, keep_alive, query)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _BadHTTP("malformed chunk size") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _parse_fault_rate(text: str) -> tuple[str, float]:
    name, sep, rate = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=RATE such as 429=0.2, got {text!r}")
    try:
        return name, float(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"rate in {text!r} is not a number") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.llm_server",
        description="A local fake of the OpenAI and Anthropic HTTP APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--retry-after", default="1", help="retry-after header value")
    parser.add_argument(
        "--fault-rate",
        action="append",
        type=_parse_fault_rate,
        default=[],
        metavar="NAME=RATE",
        help="inject a fault into this share of requests, e.g. 429=0.2 or hang=0.05",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    args = parser.parse_args(argv)
    try:
        server = FakeLLMServer(
            host=args.host,
            port=args.port,
            delay=args.delay,
            retry_after=args.retry_after,
            fault_rates=dict(args.fault_rate),
            seed=args.seed,
            record=args.record,
        )
    except ValueError as exc:
        parser.error(str(exc))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await server.serve(on_ready=lambda url: print(f"listening on {url}", flush=True), stop=stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
