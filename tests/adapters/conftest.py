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
