"""FakeLLMServer keeps the promises tests and benchmarks rely on."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.llm_server import FakeLLMServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(replies={"capital of France": "Paris."}) as running:
        yield running


def post(
    server: FakeLLMServer,
    body: dict[str, Any],
    path: str = "/v1/chat/completions",
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"authorization": "Bearer k"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        if connection is None:
            conn.close()


def chat(model: str, prompt: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **fields}


def test_openai_answer_has_the_chat_completion_shape(server: FakeLLMServer) -> None:
    status, headers, body = post(server, chat("gpt-test", "hello there"))
    payload = json.loads(body)
    assert status == 200
    assert headers["x-request-id"].startswith("req_")
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "gpt-test"
    assert payload["choices"][0]["message"] == {
        "role": "assistant",
        "content": "echo: hello there",
        "refusal": None,
        "annotations": [],
    }
    assert payload["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_anthropic_answer_has_the_message_shape(server: FakeLLMServer) -> None:
    body = chat("claude-test", "hello there", system="Be brief.", max_tokens=100)
    status, headers, raw = post(server, body, path="/v1/messages")
    payload = json.loads(raw)
    assert status == 200
    assert headers["request-id"].startswith("req_")
    assert payload["type"] == "message"
    assert payload["content"] == [{"type": "text", "text": "echo: hello there", "citations": None}]
    assert payload["stop_reason"] == "end_turn"
    assert payload["usage"]["input_tokens"] == 4


def test_replies_match_a_substring_of_the_prompt(server: FakeLLMServer) -> None:
    _, _, body = post(server, chat("gpt-test", "What is the capital of France?"))
    assert json.loads(body)["choices"][0]["message"]["content"] == "Paris."


def test_reply_function_sees_model_and_messages_with_system() -> None:
    seen: list[tuple[str, list[dict[str, str]]]] = []

    def reply(model: str, messages: list[dict[str, str]]) -> str:
        seen.append((model, messages))
        return "custom"

    with FakeLLMServer(reply=reply) as server:
        body = chat("claude-test", "hi", system="S", max_tokens=10)
        _, _, raw = post(server, body, path="/v1/messages")
    assert json.loads(raw)["content"][0]["text"] == "custom"
    assert seen == [
        ("claude-test", [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}])
    ]


def test_stop_sequences_cut_the_reply(server: FakeLLMServer) -> None:
    body = chat("claude-test", "alpha beta gamma", max_tokens=100, stop_sequences=["gamma"])
    payload = json.loads(post(server, body, path="/v1/messages")[2])
    assert payload["content"][0]["text"] == "echo: alpha beta "
    assert (payload["stop_reason"], payload["stop_sequence"]) == ("stop_sequence", "gamma")


def test_error_bodies_use_each_providers_format(server: FakeLLMServer) -> None:
    status, headers, body = post(server, chat("status-429", "x"))
    assert (status, headers["retry-after"]) == (429, "1")
    assert json.loads(body)["error"]["type"] == "rate_limit_exceeded"
    status, _, body = post(server, chat("status-529", "x", max_tokens=5), path="/v1/messages")
    assert status == 529
    assert json.loads(body) == {
        "type": "error",
        "error": {
            "type": "overloaded_error",
            "message": "Overloaded (simulated for model 'status-529')",
        },
    }


def test_flaky_model_fails_n_times_per_prompt_then_answers(server: FakeLLMServer) -> None:
    statuses = [post(server, chat("flaky-2", "flaky prompt"))[0] for _ in range(3)]
    other = [post(server, chat("flaky-429-1", "flaky prompt"))[0] for _ in range(2)]
    assert statuses == [503, 503, 200]
    assert other == [429, 200]
    assert len([r for r in server.requests_for("flaky prompt") if r.model == "flaky-2"]) == 3


def test_requests_are_recorded_with_headers_and_body(server: FakeLLMServer) -> None:
    post(server, chat("gpt-test", "record me", temperature=0.5))
    [recorded] = server.requests_for("record me")
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == "Bearer k"
    assert recorded.body["temperature"] == 0.5
    assert recorded.fault is None


def test_keep_alive_serves_many_requests_on_one_connection(server: FakeLLMServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        statuses = [post(server, chat("gpt-test", f"ka {i}"), connection=conn)[0] for i in range(3)]
    finally:
        conn.close()
    assert statuses == [200, 200, 200]


def test_unknown_path_explains_the_base_urls(server: FakeLLMServer) -> None:
    status, _, body = post(server, chat("gpt-test", "x"), path="/chat/completions")
    assert status == 404
    assert f"base_url={server.openai_base_url}" in json.loads(body)["error"]["message"]


def test_fault_rates_are_deterministic_per_seed() -> None:
    def outcomes(seed: int) -> list[int]:
        with FakeLLMServer(fault_rates={"429": 0.3, "500": 0.2}, seed=seed) as server:
            return [post(server, chat("gpt-test", f"load {i}"))[0] for i in range(40)]

    first = outcomes(seed=7)
    assert first == outcomes(seed=7)
    assert first != outcomes(seed=8)
    assert {200, 429, 500} == set(first)


def test_fault_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown fault 'teapot'"):
        FakeLLMServer(fault_rates={"teapot": 0.1})
    with pytest.raises(ValueError, match="more than 1"):
        FakeLLMServer(fault_rates={"429": 0.6, "503": 0.6})


def send_raw(server: FakeLLMServer, body: dict[str, Any]) -> socket.socket:
    """A connection with one chat request sent on it, its answer left unread."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    data = json.dumps(body).encode()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


def test_serves_requests_in_parallel() -> None:
    # Sixty-four requests that never get an answer: a server that served one at a time
    # would read only the first. No clock decides this; the deadline only ends a failure.
    server = FakeLLMServer().start()
    sockets = [send_raw(server, chat("hang", f"p{i}")) for i in range(64)]
    try:
        deadline = time.monotonic() + 60
        while len(server.requests) < 64 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.requests) == 64
    finally:
        server.stop()
        for sock in sockets:
            sock.close()


def test_a_hanging_request_does_not_block_shutdown() -> None:
    # A hanging request never ends by itself, so a stop that waited for it would never
    # return: the join's bound only ends the test if that happens.
    server = FakeLLMServer().start()
    with send_raw(server, chat("hang", "wait")) as sock:
        while not server.requests:
            time.sleep(0.01)
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        stopping.join(60)
        assert not stopping.is_alive(), "stop() waited for a request that never ends"
        assert sock.recv(1024) == b""


def test_runs_as_its_own_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.llm_server", "--port", "0", "--delay", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", "/v1/messages", body=json.dumps(chat("c", "hi", max_tokens=5)))
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
        if process.stdout is not None:
            process.stdout.close()
