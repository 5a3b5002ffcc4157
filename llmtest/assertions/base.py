"""What every assertion provides: a named type that builds a check from a case file's argument.

Most types are declared with :func:`~llmtest.assertions.declaration.assertion`; this module
holds what the loader, the engine and the reports need of any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from llmtest.adapters.base import Response
from llmtest.config.boundary import ProjectBoundary
from llmtest.errors import LLMAssertionError

Measure = Literal["score", "figure"]
"""What an assertion's ``score`` is: ``"score"``, a share from 0 to 1 that counts towards the
case's score; ``"figure"``, a measured figure (characters, ms, tokens, USD) that reports chart
but a case's score leaves out."""


def mean_score(scored: Iterable[tuple[str, float | None]]) -> float | None:
    """A case's score: the mean of its assertions' 0-1 scores, by (type, score).

    Each type's declaration says whether its score is a share or a figure; a type no installed
    plugin declares (a results file from elsewhere) counts as a share.
    """
    from llmtest.plugins.registry import assertion_types  # the registry imports this module

    types = assertion_types()
    scores = [
        score
        for name, score in scored
        if score is not None and (name not in types or types[name].measures == "score")
    ]
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
        """The ``assertions`` item of a results line: the fields, in their order."""
        return dict(vars(self))


@dataclass(frozen=True)
class Verdict:
    """What a declared check decides about one answer; its declaration adds the name."""

    passed: bool
    score: float | None
    message: str


class Check(Protocol):
    """A prepared assertion: arguments already validated, regexes compiled, schemas loaded."""

    def __call__(self, response: Response) -> AssertionResult: ...


Judge = Callable[[Response], Verdict]
"""What a declared assertion's factory returns: the check itself, for one answer."""


@dataclass(frozen=True)
class BuildContext:
    """Where the case came from, so ``$ref`` paths and ``python:`` names can be resolved;
    ``boundary`` is what a case file's references may reach (None: anywhere, as from
    Python)."""

    base_dir: Path
    boundary: ProjectBoundary | None = None


@dataclass(frozen=True)
class AssertionType:
    """A named assertion, as the registry holds it. ``build`` validates the case file's
    argument and raises :class:`~llmtest.errors.AssertionSpecError` with a one-line reason
    when it is wrong. ``number_argument`` says that a bare argument is a number (a bound, as
    in ``length: 200``), so the CSV reader reads the cell ``200`` as that number.

    :func:`~llmtest.assertions.declaration.assertion` derives all of this from a factory;
    writing an ``AssertionType`` by hand remains possible for a plugin that wants to.
    """

    name: str
    build: Callable[[Any, BuildContext], Check]
    summary: str = ""
    measures: Measure = "score"
    number_argument: bool = False


def raise_on_failure(result: AssertionResult) -> AssertionResult:
    """The shared tail of every ``assert_*`` function: fail with the assertion's message."""
    __tracebackhide__ = True  # pytest shows the failure at the test's own line, not here
    if not result.passed:
        raise LLMAssertionError(result.message)
    return result
