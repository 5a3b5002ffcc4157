"""The ``llm`` fixture: the configured model, callable from plain Python tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmtest.adapters.base import Message, Response
from llmtest.engine.client import ModelClient
from llmtest.errors import ConfigError, ModelCallError
from pytest_llmtest.state import NO_MODEL, session_key


class LLM(ModelClient):
    """The configured model for plain Python tests, on the session's engine (the same
    retries and timeouts as the cases); a call that gets no answer fails the test."""

    def complete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        __tracebackhide__ = True  # the report shows the test's own line, not ours
        try:
            return super().complete(prompt, system=system, **params)
        except ModelCallError as exc:
            error = exc  # failed outside the except block: no "during handling" chain
        pytest.fail(f"model {self.model.name} gave no answer: {error}")

    def __repr__(self) -> str:
        return f"<llm {self.model.name}>"


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """The model from --llm-model, else llmtest_model / [tool.llmtest] model."""
    state = pytestconfig.stash[session_key]
    spec = state.cli_model or state.default_model
    if spec is None:
        # An error of the tests that use the fixture, in one line: not a traceback.
        pytest.fail(NO_MODEL.replace("set 'model:' in the case file, or ", ""), pytrace=False)
    try:
        model = state.model(spec)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)
    return LLM(state.start_engine(), model)
