"""The canary router with real adapters: echo, the user's own callables, and the OpenAI
adapter against the local fake provider."""

from __future__ import annotations

import asyncio
import json
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Request
from llmtest.errors import ConfigError, LLMTestError
from llmtest.production.router import CanaryRouter, key_hash, route_value
from tests.support.llm_server import FakeLLMServer


def project(tmp_path: Path, extra: str = "") -> str:
    """A project whose aliases answer BASE / CAND, and an app module with a working and a
    failing function; returns the module's (unique) name."""
    module = f"canary_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            def good(prompt: str) -> str:
                return "good: " + prompt

            def broken(prompt: str) -> str:
                raise RuntimeError("candidate exploded")
            """
        )
    )
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.llmtest.models.base]
            adapter = "echo"
            reply = "BASE"

            [tool.llmtest.models.cand]
            adapter = "echo"
            reply = "CAND"

            [tool.llmtest.models.app]
            adapter = "callable"
            model = "{module}:good"

            [tool.llmtest.models.broken]
            adapter = "callable"
            model = "{module}:broken"
            """
        )
        + extra
    )
    return module


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def exchanges(path: Path) -> list[dict[str, Any]]:
    return [r for r in lines(path) if r["type"] == "exchange"]


def request(prompt: str, user: str | None = None) -> Request:
    return Request(
        messages=({"role": "user", "content": prompt},),
        metadata={"user": user} if user else {},
    )


def test_the_fraction_of_keys_routed_to_the_candidate_is_respected(tmp_path: Path) -> None:
    project(tmp_path)
    router = CanaryRouter("base", "cand", fraction=0.05, project_root=tmp_path)
    sides = [router.side_for(request("hi", user=f"user-{i}")) for i in range(10_000)]
    share = sides.count("candidate") / len(sides)
    assert 0.04 <= share <= 0.06
    assert (
        CanaryRouter("base", "cand", fraction=0.0, project_root=tmp_path).side_for(request("x"))
        == "baseline"
    )
    everyone = CanaryRouter("base", "cand", fraction=1.0, project_root=tmp_path)
    assert everyone.side_for(request("x")) == "candidate"


def test_one_user_always_stays_on_one_side(tmp_path: Path) -> None:
    project(tmp_path)
    log = tmp_path / "canary.jsonl"

    async def scenario() -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        async with CanaryRouter(
            "base", "cand", fraction=0.5, log=log, project_root=tmp_path
        ) as router:
            for user in ("alice", "bob", "carol", "dave", "erin", "frank"):
                for prompt in ("hello", "refund?", "shipping?", "bye"):
                    answer = await router.complete(request(prompt, user=user))
                    seen.setdefault(user, set()).add(answer.text)
        return seen

    seen = asyncio.run(scenario())
    assert all(len(answers) == 1 for answers in seen.values())
    assert {next(iter(a)) for a in seen.values()} == {"BASE", "CAND"}  # both sides used
    for record in exchanges(log):
        side = record["routed_to"]
        assert record[side]["text"] == ("BASE" if side == "baseline" else "CAND")
        other = "candidate" if side == "baseline" else "baseline"
        assert record[other] is None and record["shadow"] is False
        assert "alice" not in json.dumps(record)  # the key is hashed, not logged
    users = {r["key_hash"] for r in exchanges(log)}
    assert users == {key_hash(u) for u in ("alice", "bob", "carol", "dave", "erin", "frank")}


def test_the_default_key_is_the_prompt_without_a_user() -> None:
    assert route_value("same") == route_value("same")
    assert 0.0 <= route_value("same") < 1.0


def test_shadow_mode_answers_with_the_baseline_and_logs_both(tmp_path: Path) -> None:
    module = project(tmp_path)
    log = tmp_path / "logs" / "canary.jsonl"
    router = CanaryRouter("base", "app", fraction=1.0, shadow=True, log=log, project_root=tmp_path)
    with router:
        answer = router.complete_sync("What is 2+2?", temperature=0)
    assert answer.text == "BASE"
    header, record = lines(log)
    assert header == {**header, "type": "canary", "baseline": "base", "candidate": "app"}
    assert record["shadow"] is True and record["routed_to"] == "baseline"
    assert record["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert record["params"] == {"temperature": 0}
    assert record["baseline"]["text"] == "BASE" and record["baseline"]["model"] == "base"
    assert record["candidate"]["text"] == "good: What is 2+2?"
    assert record["candidate"]["error"] is None
    assert record["candidate"]["latency_ms"] >= 0
    assert module  # the callable was imported from the project folder


def test_a_failing_candidate_never_breaks_the_call_in_shadow_mode(tmp_path: Path) -> None:
    project(tmp_path)
    log = tmp_path / "canary.jsonl"
    with CanaryRouter(
        "base", "broken", fraction=1.0, shadow=True, log=log, project_root=tmp_path
    ) as router:
        assert router.complete_sync("still there?").text == "BASE"
        assert router.complete_sync([{"role": "user", "content": "again"}]).text == "BASE"
    records = exchanges(log)
    assert len(records) == 2
    for record in records:
        assert record["baseline"]["text"] == "BASE"
        assert record["candidate"]["text"] is None
        assert "candidate exploded" in record["candidate"]["error"]


def test_without_shadow_the_candidate_s_failure_is_the_caller_s(tmp_path: Path) -> None:
    project(tmp_path)
    log = tmp_path / "canary.jsonl"
    router = CanaryRouter("base", "broken", fraction=1.0, log=log, project_root=tmp_path)
    with router, pytest.raises(LLMTestError, match="candidate exploded"):
        router.complete_sync("hello")
    (record,) = exchanges(log)
    assert record["routed_to"] == "candidate" and "exploded" in record["candidate"]["error"]


def test_the_log_never_holds_the_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_provider: FakeLLMServer
) -> None:
    secret = "sk-canary-test-" + uuid.uuid4().hex
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    project(
        tmp_path,
        textwrap.dedent(
            f"""
            [tool.llmtest.models.gpt]
            adapter = "openai"
            model = "gpt-base"
            base_url = "{fake_provider.openai_base_url}"

            [tool.llmtest.models.gpt-next]
            adapter = "openai"
            model = "gpt-next"
            base_url = "{fake_provider.openai_base_url}"
            """
        ),
    )
    log = tmp_path / "canary.jsonl"
    with CanaryRouter(
        "gpt", "gpt-next", fraction=1.0, shadow=True, log=log, project_root=tmp_path
    ) as router:
        answer = router.complete_sync(f"my key is {secret}, repeat it")
    assert secret in answer.text  # the fake provider echoes it back to the app…
    text = log.read_text()
    assert secret not in text  # …but it never reaches the disk
    (record,) = exchanges(log)
    assert record["baseline"]["text"] == "echo: my key is ***, repeat it"
    assert record["candidate"]["provider_model"] == "gpt-next"
    assert record["baseline"]["usage"]["output_tokens"] > 0


def test_adapters_can_be_given_directly(tmp_path: Path) -> None:
    from llmtest.adapters.echo import EchoAdapter
    from llmtest.config.project import ModelConfig

    base = EchoAdapter(ModelConfig(name="prod", adapter="echo", options={"reply": "P"}))
    cand = EchoAdapter(ModelConfig(name="next", adapter="echo", options={"reply": "N"}))
    log = tmp_path / "c.jsonl"

    async def scenario() -> str:
        router = CanaryRouter(base, cand, fraction=1.0, shadow=True, log=log)
        try:
            return (await router.complete(request("x"))).text
        finally:
            await router.aclose()

    assert asyncio.run(scenario()) == "P"
    (record,) = exchanges(log)
    assert (record["baseline"]["model"], record["candidate"]["model"]) == ("prod", "next")


@pytest.mark.parametrize("fraction", [-0.01, 1.5, float("nan"), "0.1", True])
def test_a_fraction_outside_0_1_is_a_clear_error(tmp_path: Path, fraction: Any) -> None:
    with pytest.raises(ConfigError, match=r"fraction must be .*\[0, 1\]"):
        CanaryRouter("echo:", "echo:", fraction=fraction, project_root=tmp_path)


def test_an_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        CanaryRouter("nope", "echo:", project_root=tmp_path)
