"""Fixtures for the provider adapter tests: one local fake provider for the module."""

from __future__ import annotations

import itertools
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


@pytest.fixture
def sampling() -> Iterator[FakeLLMServer]:
    """A nondeterministic model: answers are numbered in the order requests reach it, so
    a case's repeats get different answers and which attempt gets which is up to the
    scheduling, as with a real model at a temperature above 0."""
    served = itertools.count()

    def reply(model: str, messages: list[dict[str, str]]) -> str:
        return f"sample {next(served)}"

    with FakeLLMServer(retry_after=0, reply=reply) as server:
        yield server
