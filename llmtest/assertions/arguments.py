"""What a case file may write for an assertion's arguments, and the one way we complain.

A factory's parameter names its kind in its annotation, ``ignore_case: Annotated[bool,
FLAG]``, and the loader then checks what a case file writes for it. Every complaint reads
``expects <what>, got <repr>``; the loader prefixes file, line, case and assertion name.
Python callers are not held to these kinds (a tuple is as good as a list there): a factory
checks what it must itself, with the same kinds so that both hear the same words.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from llmtest.assertions.excerpt import short_repr
from llmtest.config.boundary import ProjectBoundary
from llmtest.errors import AssertionSpecError


def expected(what: str, got: Any) -> AssertionSpecError:
    return AssertionSpecError(f"expects {what}, got {short_repr(got)}")


def reject_unknown(args: Mapping[Any, Any], accepted: Iterable[str]) -> None:
    """Reject keys the assertion does not know, suggesting the closest known one."""
    known = list(accepted)
    for key in args:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            listed = ", ".join(repr(k) for k in known)
            raise AssertionSpecError(
                f"does not accept {short_repr(key)}{suggestion} (accepted: {listed})"
            )


def is_number(value: Any) -> bool:
    """A finite int or float; YAML booleans are not numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Kind:
    """One kind of argument: which values it ``accepts``, and what a value becomes for the
    factory (``convert``). ``what`` completes "expects 'name' to be …"; ``numeric`` says that
    the argument is a number, so a CSV cell ``200`` is read as one."""

    numeric: ClassVar[bool] = False

    def __init__(self, what: str = "a value") -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.what!r})"

    def accepts(self, value: Any) -> bool:
        return True

    def convert(self, value: Any) -> Any:
        """An accepted value as the factory receives it."""
        return value

    def parse(self, value: Any, what: str) -> Any:
        """The value converted, or :func:`expected` ``(what, value)`` raised."""
        if not self.accepts(value):
            raise expected(what, value)
        return self.convert(value)

    def field(self, name: str, value: Any) -> Any:
        """Parse the value given for the argument ``name``."""
        if not self.accepts(value):
            raise expected(f"{name!r} to be {self.what}", value)
        return self.convert(value)


class Text(Kind):
    def __init__(self, what: str = "a string", *, non_empty: bool = False) -> None:
        super().__init__(what)
        self.non_empty = non_empty

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (bool(value) or not self.non_empty)


class Phrases(Kind):
    """One non-empty string or a non-empty list of them: the phrases an assertion looks for."""

    def __init__(self, what: str = "a string or a list of non-empty strings") -> None:
        super().__init__(what)

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            return bool(value)
        return (
            isinstance(value, list)
            and bool(value)
            and all(isinstance(item, str) and item for item in value)
        )

    def convert(self, value: Any) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)


class Flag(Kind):
    def __init__(self) -> None:
        super().__init__("true or false")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class OneOf(Kind):
    def __init__(self, choices: tuple[str, ...]) -> None:
        super().__init__("one of " + ", ".join(repr(c) for c in choices))
        self.choices = choices

    def accepts(self, value: Any) -> bool:
        return value in self.choices


class Number(Kind):
    """A finite int or float within [low, high]."""

    numeric = True

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        if low is not None and high is not None:
            what = f"a number between {low:g} and {high:g}"
        elif low is not None:
            what = f"a number of at least {low:g}"
        elif high is not None:
            what = f"a number of at most {high:g}"
        else:
            what = "a number"
        super().__init__(what)
        self.low, self.high = low, high

    def accepts(self, value: Any) -> bool:
        return (
            is_number(value)
            and (self.low is None or value >= self.low)
            and (self.high is None or value <= self.high)
        )

    def convert(self, value: Any) -> float:
        return float(value)


class WholeNumber(Kind):
    numeric = True

    def __init__(self, what: str = "a whole number of at least 0") -> None:
        super().__init__(what)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Table(Kind):
    """A mapping, taken as it is: a configuration, a JSON Schema."""

    def __init__(self, what: str = "a mapping") -> None:
        super().__init__(what)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)


class CaseFolder:
    """Marks the parameter that receives the case file's folder (for ``$ref`` paths and
    ``module:function`` names); a case file does not write it."""


class CaseBoundary:
    """Marks the parameter that receives the project's folders, outside which a case file
    may not reach (see :class:`~llmtest.config.boundary.ProjectBoundary`); ``None`` when
    the assertion is built from Python rather than from a case file."""


# Each marker and the BuildContext attribute its parameter receives.
CONTEXT_MARKERS: dict[type, str] = {CaseFolder: "base_dir", CaseBoundary: "boundary"}


TEXT = Text()
FLAG = Flag()
PHRASES = Phrases()
WHOLE_NUMBER = WholeNumber()
AMOUNT = Number(low=0)
SHARE = Number(low=0, high=1)
TABLE = Table()

FlagArg = Annotated[bool, FLAG]
FolderArg = Annotated[Path | str, CaseFolder]
BoundaryArg = Annotated[ProjectBoundary | None, CaseBoundary]
