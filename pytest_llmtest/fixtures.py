"""The ``llm`` fixture: the configured model, callable from plain Python tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmtest.adapters.base import Message, Response, build_messages
from llmtest.config import ModelConfig
from llmtest.engine import Engine
from llmtest.errors import ConfigError, ModelCallError
from pytest_llmtest.state import NO_MODEL, session_key


class LLM:
    """A synchronous handle on the configured model; calls run on llmtest's engine, with
    the same retries and timeouts as the cases."""

    def __init__(self, engine: Engine, model: ModelConfig) -> None:
        self._engine = engine
        self.model = model

    def complete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        messages = build_messages(prompt, system or self.model.system)
        try:
            return self._engine.complete(self.model, messages, params)
        except ModelCallError as exc:
            pytest.fail(f"model {self.model.name} gave no answer: {exc}", pytrace=False)

    def __repr__(self) -> str:
        return f"<llm {self.model.name}>"


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """The model from --llm-model, else llmtest_model / [tool.llmtest] model."""
    state = pytestconfig.stash[session_key]
    spec = state.cli_model or state.default_model
    if spec is None:
        raise pytest.UsageError(NO_MODEL.replace("set 'model:' in the case file, or ", ""))
    try:
        model = state.model(spec)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    return LLM(state.start_engine(), model)
