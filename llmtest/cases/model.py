"""Cases as the engine and the evaluators see them: validated, templated, ready to run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmtest.adapters.base import Message, last_user_message
from llmtest.assertions.base import Check


@dataclass(frozen=True)
class AssertionSpec:
    """An assertion as written in the case file, with its prepared check."""

    type: str
    args: Any
    check: Check = field(compare=False, repr=False)


@dataclass(frozen=True)
class Case:
    """One case of a suite.

    ``hash`` covers everything that decides the outcome except the model (messages, params,
    assertions, repeat policy), so a baseline and a candidate run pair up by it and an edited
    case is never compared with its old self.
    """

    id: str
    suite: str
    messages: tuple[Message, ...]
    assertions: tuple[AssertionSpec, ...]
    hash: str
    tags: tuple[str, ...] = ()
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 1
    min_pass_rate: float = 1.0
    line: int | None = None
    skip: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return last_user_message(self.messages)

    @property
    def key(self) -> tuple[str, str, str]:
        """What a result record is matched by: (suite, case id, case hash)."""
        return (self.suite, self.id, self.hash)


@dataclass(frozen=True)
class Suite:
    path: str
    cases: tuple[Case, ...]
    model: str | None = None
    hash: str = ""
    model_line: int | None = None
