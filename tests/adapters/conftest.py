"""Fixtures for the provider adapter tests: one local fake provider for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.llm_server import FakeLLMServer


@pytest.fixture(scope="module")
def llm_server() -> Iterator[FakeLLMServer]:
    """A FakeLLMServer speaking both wire formats; tests tell requests apart by prompt."""
    with FakeLLMServer(
        retry_after=2, model_ids={"snapshot-model": "snapshot-model-2025-01-01"}
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys or base URLs must not change (or reach) these tests."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
