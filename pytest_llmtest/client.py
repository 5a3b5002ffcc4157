"""The object the ``llm`` fixture gives a test: a model client whose failures fail the test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmtest.adapters.base import Message, Response
from llmtest.engine.client import ModelClient
from llmtest.errors import ModelCallError


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
