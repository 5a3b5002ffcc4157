"""The openai and anthropic adapters pass the same tests against a local fake provider.

Real SDK clients talk HTTP to ``FakeLLMServer`` on 127.0.0.1; nothing is mocked. The
fake picks its behaviour from the model name (``status-500``, ``malformed``, ``hang``…).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from llmtest.adapters._provider import ProviderAdapter, parse_retry_after
from llmtest.adapters.anthropic import AnthropicAdapter
from llmtest.adapters.base import Request, Response, build_messages
from llmtest.adapters.builtin import llmtest_adapters
from llmtest.adapters.openai import OpenAIAdapter
from llmtest.config.project import ModelConfig
from llmtest.errors import ConfigError, ModelCallError
from tests.support.llm_server import FakeLLMServer, RecordedRequest

ADAPTERS: dict[str, type[ProviderAdapter[Any]]] = {
    "openai": OpenAIAdapter,
    "anthropic": AnthropicAdapter,
}
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
SECRET = "sk-test-SECRET-123"


@pytest.fixture(params=sorted(ADAPTERS))
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def config_for(
    provider: str,
    server: FakeLLMServer | None,
    model: str = "test-model",
    **fields: Any,
) -> ModelConfig:
    base_url = server.base_url_for(provider) if server is not None else None
    fields.setdefault("base_url", base_url)
    fields.setdefault("timeout_s", 5.0)
    return ModelConfig(name="bot", adapter=provider, model=model, **fields)


def call(
    config: ModelConfig,
    prompt: str,
    *,
    system: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Response:
    """One complete() on a fresh adapter, closed afterwards, on its own event loop."""
    adapter = ADAPTERS[config.adapter](config)

    async def run() -> Response:
        try:
            request = Request(messages=build_messages(prompt, system), params=params or {})
            return await adapter.complete(request)
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def call_error(config: ModelConfig, prompt: str) -> ModelCallError:
    with pytest.raises(ModelCallError) as info:
        call(config, prompt)
    return info.value


def only_request(server: FakeLLMServer, prompt: str) -> RecordedRequest:
    [recorded] = server.requests_for(prompt)
    return recorded


def test_answers_with_text_usage_model_id_and_latency(
    llm_server: FakeLLMServer, provider: str
) -> None:
    prompt = f"{provider}: what is two plus two"
    response = call(config_for(provider, llm_server, "snapshot-model"), prompt)
    assert response.text == f"echo: {prompt}"
    assert response.model == llm_server.model_ids["snapshot-model"]
    assert response.usage.input_tokens == 6
    assert response.usage.output_tokens == 7
    assert response.latency_ms is not None and response.latency_ms > 0
    assert response.finish_reason == {"openai": "stop", "anthropic": "end_turn"}[provider]
    assert response.cost_usd is None
    assert json.loads(json.dumps(response.raw))["model"] == response.model


def test_system_prompt_is_sent_the_providers_way(llm_server: FakeLLMServer, provider: str) -> None:
    prompt = f"{provider}: who are you"
    call(config_for(provider, llm_server), prompt, system="You are Acme's agent.")
    body = only_request(llm_server, prompt).body
    if provider == "openai":
        assert body["messages"] == [
            {"role": "system", "content": "You are Acme's agent."},
            {"role": "user", "content": prompt},
        ]
    else:
        assert body["system"] == "You are Acme's agent."
        assert body["messages"] == [{"role": "user", "content": prompt}]


def test_config_system_prompt_applies_when_the_request_has_none(
    llm_server: FakeLLMServer, provider: str
) -> None:
    prompt = f"{provider}: config system"
    call(config_for(provider, llm_server, system="From config."), prompt)
    body = only_request(llm_server, prompt).body
    sent = body["messages"][0]["content"] if provider == "openai" else body["system"]
    assert sent == "From config."


def test_params_are_forwarded_and_request_params_win(
    llm_server: FakeLLMServer, provider: str
) -> None:
    prompt = f"{provider}: params"
    config = config_for(
        provider, llm_server, params={"temperature": 0.2, "max_tokens": 50, "top_p": 0.9}
    )
    call(config, prompt, params={"temperature": 0.7, "stop": ["END"], "top_k": 5})
    body = only_request(llm_server, prompt).body
    assert body["temperature"] == 0.7
    assert body["max_tokens"] == 50
    assert body["top_p"] == 0.9
    assert body["top_k"] == 5
    assert body["stop" if provider == "openai" else "stop_sequences"] == ["END"]


def test_seed_reaches_openai_and_is_dropped_for_anthropic(
    llm_server: FakeLLMServer, provider: str
) -> None:
    prompt = f"{provider}: seed"
    call(config_for(provider, llm_server), prompt, params={"seed": 42})
    body = only_request(llm_server, prompt).body
    assert body.get("seed") == (42 if provider == "openai" else None)


def test_anthropic_gets_a_default_max_tokens(llm_server: FakeLLMServer) -> None:
    call(config_for("anthropic", llm_server), "default max tokens")
    assert only_request(llm_server, "default max tokens").body["max_tokens"] == 1024


def test_finish_reason_reports_a_length_cut(llm_server: FakeLLMServer, provider: str) -> None:
    response = call(
        config_for(provider, llm_server), f"{provider}: one two three", params={"max_tokens": 2}
    )
    assert response.text == f"echo: {provider}:"
    assert response.finish_reason == {"openai": "length", "anthropic": "max_tokens"}[provider]


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_retryable_with_the_servers_message(
    llm_server: FakeLLMServer, provider: str, status: int
) -> None:
    error = call_error(config_for(provider, llm_server, f"status-{status}"), "server error")
    assert error.retryable
    assert error.status == status
    base_url = llm_server.base_url_for(provider)
    assert str(error).startswith(f"{provider} model 'status-{status}' at {base_url}: ")
    assert f"HTTP {status}: " in str(error)
    assert f"(simulated for model 'status-{status}')" in str(error)


def test_http_500_message_is_one_clear_line(llm_server: FakeLLMServer, provider: str) -> None:
    error = call_error(config_for(provider, llm_server, "status-500"), "http 500")
    base_url = llm_server.base_url_for(provider)
    assert str(error) == (
        f"{provider} model 'status-500' at {base_url}: "
        "HTTP 500: Internal Server Error (simulated for model 'status-500')"
    )
    assert error.__cause__ is None and error.__suppress_context__


def test_rate_limit_is_retryable_after_the_servers_retry_after(
    llm_server: FakeLLMServer, provider: str
) -> None:
    error = call_error(config_for(provider, llm_server, "status-429"), "rate limited")
    assert error.retryable
    assert error.status == 429
    assert llm_server.retry_after is not None
    assert error.retry_after == float(llm_server.retry_after)
    assert "HTTP 429: Too Many Requests" in str(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retryable(
    llm_server: FakeLLMServer, provider: str, status: int
) -> None:
    error = call_error(config_for(provider, llm_server, f"status-{status}"), "client error")
    assert not error.retryable
    assert error.status == status
    assert f"HTTP {status}: " in str(error)


@pytest.mark.parametrize(
    ("model", "excerpt"),
    [
        ("malformed", '\'{"id": "broken", "choices": [{"message"'),
        ("html", "'<html><body><h1>502 Bad Gateway</h1></body></html>'"),
        ("bad-shape", '\'{"unexpected": "shape"}\''),
    ],
)
def test_malformed_body_is_not_retryable_and_quoted(
    llm_server: FakeLLMServer, provider: str, model: str, excerpt: str
) -> None:
    error = call_error(config_for(provider, llm_server, model), "malformed body")
    assert not error.retryable
    assert f"{provider} model {model!r} at " in str(error)
    assert "the server sent a malformed response (" in str(error)
    assert excerpt in str(error)
    assert "\n" not in str(error)


def test_openai_answer_without_choices_is_malformed(llm_server: FakeLLMServer) -> None:
    error = call_error(config_for("openai", llm_server, "empty-choices"), "no choices")
    assert not error.retryable
    assert "malformed response (no choices)" in str(error)


def test_anthropic_answer_without_content_is_empty_text(llm_server: FakeLLMServer) -> None:
    response = call(config_for("anthropic", llm_server, "empty-choices"), "no content")
    assert response.text == ""


def test_timeout_is_retryable(llm_server: FakeLLMServer, provider: str) -> None:
    error = call_error(config_for(provider, llm_server, "hang", timeout_s=0.3), "hang")
    assert error.retryable
    assert str(error).endswith(": timed out after 0.3s")


def test_dropped_connection_is_retryable(llm_server: FakeLLMServer, provider: str) -> None:
    error = call_error(config_for(provider, llm_server, "drop"), "drop")
    assert error.retryable
    assert "connection failed: " in str(error)


def test_refused_connection_is_retryable(provider: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    suffix = "/v1" if provider == "openai" else ""
    config = config_for(provider, None, base_url=f"http://127.0.0.1:{port}{suffix}")
    error = call_error(config, "refused")
    assert error.retryable
    assert f"at http://127.0.0.1:{port}{suffix}: connection failed: " in str(error)


def test_missing_key_without_base_url_is_a_clear_error(provider: str) -> None:
    error = call_error(config_for(provider, None), "no key")
    assert not error.retryable
    assert str(error) == (
        f"{provider} model 'test-model': {KEY_ENV[provider]} is not set; export it or set "
        "api_key_env in [tool.llmtest.models.bot]"
    )


def test_missing_key_names_the_configured_variable(provider: str) -> None:
    config = config_for(provider, None, api_key_env="ACME_LLM_KEY")
    assert "ACME_LLM_KEY is not set" in str(call_error(config, "no key"))


def test_local_server_without_a_key_gets_a_placeholder(
    llm_server: FakeLLMServer, provider: str
) -> None:
    prompt = f"{provider}: keyless"
    call(config_for(provider, llm_server), prompt)
    assert only_request(llm_server, prompt).headers["authorization"] == "Bearer unused"


@pytest.mark.parametrize("key_env", [None, "ACME_LLM_KEY"])
def test_key_reaches_the_server_but_nothing_we_return(
    llm_server: FakeLLMServer,
    provider: str,
    key_env: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(key_env or KEY_ENV[provider], SECRET)
    prompt = f"{provider}: key {key_env}"
    config = config_for(provider, llm_server, api_key_env=key_env)
    response = call(config, prompt)
    assert only_request(llm_server, prompt).headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(response.raw)
    assert SECRET not in repr(response)
    assert SECRET not in str(call_error(config_for(provider, llm_server, "status-500"), "x"))


def test_rejected_key_is_redacted_from_the_error(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV[provider], SECRET)
    with FakeLLMServer(api_key="the-right-key") as server:
        error = call_error(config_for(provider, server), "wrong key")
    assert error.status == 401
    assert not error.retryable
    assert SECRET not in str(error)
    assert "Incorrect API key provided: Bearer ***" in str(error)


def test_cost_is_computed_from_prices_per_million_tokens(
    llm_server: FakeLLMServer, provider: str
) -> None:
    options = {"input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0}
    response = call(config_for(provider, llm_server, options=options), f"{provider} cost")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (2, 3)
    assert response.cost_usd == pytest.approx((2 * 3.0 + 3 * 15.0) / 1_000_000)


def test_a_price_that_is_not_a_number_is_a_config_error(provider: str) -> None:
    options = {"input_cost_per_mtok": "cheap", "output_cost_per_mtok": 1}
    with pytest.raises(ConfigError, match="input_cost_per_mtok must be a number"):
        ADAPTERS[provider](config_for(provider, None, options=options))


def test_aclose_closes_the_sdk_client(llm_server: FakeLLMServer, provider: str) -> None:
    adapter = ADAPTERS[provider](config_for(provider, llm_server))

    async def run() -> bool:
        await adapter.aclose()
        await adapter.complete(Request(messages=build_messages("close me")))
        client = adapter._client
        assert client is not None
        await adapter.aclose()
        await adapter.aclose()
        closed: bool = client.is_closed()
        return closed and adapter._client is None

    assert asyncio.run(run())


def test_builtin_registry_builds_the_adapters(provider: str) -> None:
    adapter = llmtest_adapters()[provider](config_for(provider, None))
    assert isinstance(adapter, ADAPTERS[provider])
    assert adapter.name == provider


def test_importing_the_adapters_does_not_import_the_sdks() -> None:
    code = (
        "import sys, llmtest, llmtest.adapters.openai, llmtest.adapters.anthropic\n"
        "loaded = {'openai', 'anthropic'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "3"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_formats(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_retry_after_as_a_future_http_date() -> None:
    from email.utils import formatdate
    from time import time

    seconds = parse_retry_after({"retry-after": formatdate(time() + 30, usegmt=True)})
    assert seconds is not None and 25 < seconds <= 30


def test_a_config_without_a_model_name_is_a_config_error(provider: str) -> None:
    config = ModelConfig(name=provider, adapter=provider, model="")
    with pytest.raises(ConfigError, match=rf"^{provider}: the {provider} adapter needs a model"):
        ADAPTERS[provider](config)


def test_a_key_in_the_base_urls_query_goes_on_every_request(
    llm_server: FakeLLMServer, provider: str
) -> None:
    # Azure-style gateways take the key as ?api-key=…; the SDK appends its path to
    # base_url, so left there the query would end up in the middle of the URL.
    base = llm_server.base_url_for(provider) + "?api-key=gw-query-key-0123456789"
    prompt = f"{provider}: query key"
    response = call(config_for(provider, llm_server, base_url=base), prompt)
    assert response.text == f"echo: {prompt}"
    recorded = only_request(llm_server, prompt)
    assert recorded.path in ("/v1/chat/completions", "/v1/messages")
    assert recorded.query == "api-key=gw-query-key-0123456789"
