"""The object the ``llm`` fixture gives a test: a model client whose failures fail the test."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from llmtest.adapters.base import Message, Response, build_messages, last_user_message
from llmtest.engine.client import ModelClient
from llmtest.errors import ModelCallError


@dataclass(frozen=True)
class Exchange:
    """One call a test made: its prompt, and the answer or why there was none."""

    prompt: str
    response: Response | None
    error: str | None = None


class LLM(ModelClient):
    """The configured model for plain Python tests, on the session's engine (the same
    retries and timeouts as the cases); a call that gets no answer fails the test. Each
    call is kept until the plugin takes them, so the test gets its record in the results
    file and the reports like a case does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def complete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        __tracebackhide__ = True  # the report shows the test's own line, not ours
        try:
            response = super().complete(prompt, system=system, **params)
        except ModelCallError as exc:
            error = exc  # failed outside the except block: no "during handling" chain
        else:
            self._keep(prompt, system, response)
            return response
        self._keep(prompt, system, None, str(error))
        pytest.fail(f"{self.no_answer_prefix}{error}")

    async def acomplete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        try:
            response = await super().acomplete(prompt, system=system, **params)
        except ModelCallError as exc:
            self._keep(prompt, system, None, str(exc))
            raise
        self._keep(prompt, system, response)
        return response

    @property
    def no_answer_prefix(self) -> str:
        """How a test's failure says the model gave no answer (an error, not a failure)."""
        return f"model {self.model.name} gave no answer: "

    def take_exchanges(self) -> list[Exchange]:
        """The calls made since the last take (by the test that just ran)."""
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def _keep(
        self,
        prompt: str | Sequence[Message],
        system: str | None,
        response: Response | None,
        error: str | None = None,
    ) -> None:
        text = last_user_message(build_messages(prompt, system))
        with self._lock:
            self._exchanges.append(Exchange(text, response, error))

    def __repr__(self) -> str:
        return f"<llm {self.model.name}>"
