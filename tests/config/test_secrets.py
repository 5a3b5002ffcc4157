"""One rule for what is a secret, one redactor, and no secret in any output."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmtest.config.secrets import (
    MASK,
    Redactor,
    is_secret_name,
    masked_settings,
    masked_url,
    register_secret,
)
from tests.support.llm_server import FakeLLMServer

SECRET_OPTIONS = ("credentials", "token", "secret", "password", "api_key", "authorization")


@pytest.mark.parametrize(
    "name",
    [
        *SECRET_OPTIONS,
        "OPENAI_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "LLM_BEARER",
        "DBPASSWORD",
        "x-api-key",
        "Authorization",
        "aws_secret_access_key",
        "key",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["max_tokens", "tokens_per_minute", "tokenizer", "monkey", "input", "model_path"]
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_settings_are_masked_at_any_depth() -> None:
    settings = {"token": "t" * 10, "headers": {"Authorization": "Bearer x"}, "input": "prompt"}
    assert masked_settings(settings) == {
        "token": MASK,
        "headers": {"Authorization": MASK},
        "input": "prompt",
    }


def test_a_key_in_a_url_is_masked() -> None:
    url = "https://user:sk-live-123456@gateway.example/v1?api-key=abcdefgh123&region=eu"
    assert masked_url(url) == f"https://user:{MASK}@gateway.example/v1?api-key={MASK}&region=eu"


def test_fragments_masks_what_a_cut_left_of_a_secret() -> None:
    redact = Redactor(["xauth-SECRET-9876543210"])
    assert redact.fragments("a xauth-SECRET-987654 b sk...3210 c SECRET-9876543210x") == (
        f"a {MASK} b sk...3210 c {MASK}x"
    )
    assert redact.fragments("short: 3210 SECRET-") == "short: 3210 SECRET-"  # < 8 chars


def test_the_working_directory_is_not_a_password() -> None:
    assert not is_secret_name("PWD") and not is_secret_name("OLDPWD")
    assert is_secret_name("DB_PWD")


def test_the_redactor_masks_registered_values_inside_any_value() -> None:
    register_secret("registered-secret-value")
    redact = Redactor()
    assert redact.value({"a": ["x registered-secret-value y"]}) == {"a": [f"x {MASK} y"]}


def test_no_secret_reaches_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that echoes every credential of its config: none of them is in any byte
    llmtest writes or prints."""
    values = {name: f"{name}-VALUE-0123456789" for name in SECRET_OPTIONS}
    bearer = "bearer-from-LLM-BEARER-0123456789"
    gateway = "gateway-key-from-a-header-0123456789"
    unused = "key-of-an-alias-this-run-never-uses-0123"
    # Also cut where a message keeps only the answer's first 160 characters.
    cut = "x" * 150 + bearer
    echoed = " ".join([*values.values(), bearer, gateway, unused, cut])
    monkeypatch.chdir(tmp_path)
    with FakeLLMServer(reply=lambda model, messages: echoed) as server:
        options = "\n".join(f'{name} = "{value}"' for name, value in values.items())
        (tmp_path / "pyproject.toml").write_text(
            textwrap.dedent(f"""
            [tool.llmtest]
            model = "bot"

            [tool.llmtest.models.bot]
            adapter = "openai"
            model = "m"
            base_url = "{server.url}"
            api_key_env = "LLM_BEARER"
            headers = {{ "X-Gateway" = "${{GATEWAY_KEY}}", "X-Team" = "qa" }}

            [tool.llmtest.models.unused]
            adapter = "openai"
            model = "m"
            base_url = "{server.url}?api-key={unused}"
            """)
            + options
            + "\n"
        )
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_a.llm.yaml").write_text(
            "cases: [{id: echo, prompt: hi, assert: [{contains: absent}]}]\n"
        )
        # A plain Python test whose assertion, output and log show the answer.
        (tmp_path / "tests" / "test_plain.py").write_text(
            textwrap.dedent("""
            import logging

            def test_plain(llm):
                answer = llm.complete("hi").text
                print("answer:", answer)
                logging.getLogger("app").warning("answer: %s", answer)
                assert "absent" in answer
            """)
        )
        env = {**os.environ, "LLM_BEARER": bearer, "GATEWAY_KEY": gateway}
        llmtest = [sys.executable, "-m", "llmtest"]
        commands = [
            [
                *llmtest,
                "run",
                "tests",
                "--out",
                "runs/r.jsonl",
                "--progress",
                "plain",
                "--cache",
                "on",
                "--record",
                "cassettes",
            ],
            [
                *llmtest,
                "report",
                "runs/r.jsonl",
                "--markdown",
                "runs/r.md",
                "--html",
                "runs/r.html",
                "--json",
                "runs/r.json",
                "--junit",
                "runs/r.xml",
            ],
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-rA",
                "tests",
                "--llm-results",
                "runs/p.jsonl",
                "--junitxml",
                "runs/p.xml",
            ],
        ]
        printed = ""
        for command in commands:
            done = subprocess.run(
                command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            printed += done.stdout + done.stderr
    assert "absent" in printed  # the failure lines were printed
    assert "Captured stdout call" in printed and "Captured log call" in printed
    assert server.requests[0].headers["x-gateway"] == gateway
    assert list((tmp_path / ".llmtest" / "cache").rglob("*.json"))  # an answer was cached
    assert list((tmp_path / "cassettes").rglob("*.json"))  # and recorded
    written = b"".join(
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "pyproject.toml"
    )
    with sqlite3.connect(tmp_path / ".llmtest" / "history.sqlite") as db:
        rows = repr(db.execute("SELECT * FROM runs").fetchall())
        rows += repr(db.execute("SELECT * FROM cases").fetchall())
    for value in [*values.values(), bearer, gateway, unused, bearer[:20]]:
        assert value not in printed
        assert value.encode() not in written
        assert value not in rows
