"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The plugin imports PyYAML only when it collects a case file. An in-process pytester run
# that imports it first would have it removed again with the run's other new modules, and
# PyYAML's C extension cannot be imported a second time: import it once, for the session.
import yaml  # noqa: F401

from tests.support.llm_server import FakeLLMServer


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeLLMServer]:
    """One local OpenAI/Anthropic-compatible server for the session; the model name picks
    its behaviour (see tests/support/llm_server.py)."""
    with FakeLLMServer(retry_after=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys or base URLs must never reach a test."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
