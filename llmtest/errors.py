"""Errors a user can cause, each one a sentence that names where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


class LLMTestError(Exception):
    """Base of every error llmtest raises on purpose (never an internal bug)."""


@dataclass(eq=False)
class CaseFileError(LLMTestError):
    """A case file that cannot be loaded; the message names file, line, case and field."""

    path: str
    message: str
    line: int | None = None
    case_id: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [where]
        if self.case_id is not None:
            parts.append(f"case {self.case_id!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ": ".join([*parts, self.message])


class ConfigError(LLMTestError):
    """Bad configuration: an unknown model alias, a missing adapter, a bad option value."""


class AssertionSpecError(LLMTestError):
    """An assertion's arguments are wrong; raised while a case is loaded, never while it runs."""


class UndecidedAssertion(LLMTestError):
    """An assertion that could not decide about an answer (a pattern that ran past its time
    limit): the case is an *error*, never a *fail* nor a *pass*. The message names the
    assertion and says what to change."""


class ModelCallError(LLMTestError):
    """We could not get an answer from the model: the case is an *error*, never a *fail*.

    ``retryable`` tells the engine whether another attempt may succeed (429, 5xx, timeouts,
    dropped connections); ``retry_after`` is the provider's own hint in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.retries = 0


class LLMAssertionError(AssertionError):
    """Raised by the ``assert_*`` functions; its message is the assertion's own message."""
