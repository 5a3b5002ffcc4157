"""What every assertion family provides: a named type that builds a check from its arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from llmtest.adapters.base import Response
from llmtest.errors import LLMAssertionError

MEASUREMENTS = frozenset({"length", "latency_ms", "tokens", "cost"})
"""Assertions that bound a measured figure (characters, ms, tokens, USD): their ``score`` is
that figure, not a share from 0 to 1, so a case's score leaves them out; their argument is
the bound, so a CSV cell ``200`` is the number 200."""


def mean_score(scored: Iterable[tuple[str, float | None]]) -> float | None:
    """A case's score: the mean of its assertions' 0-1 scores, by (type, score)."""
    scores = [s for kind, s in scored if s is not None and kind not in MEASUREMENTS]
    return sum(scores) / len(scores) if scores else None


@dataclass(frozen=True)
class AssertionResult:
    """One assertion's verdict. ``score`` is a measured figure where one exists (a
    similarity, a latency); ``message`` says what was expected and what came back."""

    type: str
    passed: bool
    score: float | None
    message: str

    def to_record(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "passed": self.passed,
            "score": self.score,
            "message": self.message,
        }


class Check(Protocol):
    """A prepared assertion: arguments already validated, regexes compiled, schemas loaded."""

    def __call__(self, response: Response) -> AssertionResult: ...


@dataclass(frozen=True)
class BuildContext:
    """Where the case came from, so ``$ref`` paths and ``python:`` names can be resolved."""

    base_dir: Path


@dataclass(frozen=True)
class AssertionType:
    """A named assertion. ``build`` validates the case file's arguments and raises
    :class:`~llmtest.errors.AssertionSpecError` with a one-line reason when they are wrong."""

    name: str
    build: Callable[[Any, BuildContext], Check]
    summary: str = ""


def raise_on_failure(result: AssertionResult) -> AssertionResult:
    """The shared tail of every ``assert_*`` function: fail with the assertion's message."""
    __tracebackhide__ = True  # pytest shows the failure at the test's own line, not here
    if not result.passed:
        raise LLMAssertionError(result.message)
    return result
