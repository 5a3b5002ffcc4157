"""What every assertion receives: raw case-file arguments to vet, and an output to check.

The wording of argument errors lives here so that every family complains the same way:
``expects <what>, got <repr>``. The loader prefixes file, line, case and assertion name.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from llmtest.adapters.base import Response
from llmtest.assertions.excerpt import short_repr
from llmtest.errors import AssertionSpecError

T = TypeVar("T", bound=str)


def as_response(output: str | Response) -> Response:
    """Python tests may pass either the model's text or its whole Response."""
    return output if isinstance(output, Response) else Response(text=output)


def output_text(output: str | Response) -> str:
    return output.text if isinstance(output, Response) else output


def expected(what: str, got: Any) -> AssertionSpecError:
    return AssertionSpecError(f"expects {what}, got {short_repr(got)}")


def options(args: Mapping[Any, Any], accepted: Iterable[str]) -> Mapping[str, Any]:
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
    return args


def required(args: Mapping[str, Any], key: str, form: str) -> Any:
    if key not in args:
        raise expected(form, dict(args))
    return args[key]


def flag(args: Mapping[str, Any], key: str, default: bool) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise expected(f"{key!r} to be true or false", value)
    return value


def choice(args: Mapping[str, Any], key: str, choices: tuple[T, ...], default: T) -> T:
    value = args.get(key, default)
    for known in choices:
        if value == known:
            return known
    listed = ", ".join(repr(c) for c in choices)
    raise expected(f"{key!r} to be one of {listed}", value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, what: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite int or float within [low, high]; YAML booleans are not numbers."""
    if (
        not is_number(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise expected(what, value)
    return float(value)


def whole_number(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise expected(what, value)
    return value


def text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise expected(what, value)
    return value


def phrases(value: Any, what: str) -> tuple[str, ...]:
    """One non-empty string or a non-empty list of them: the phrases an assertion looks for."""
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    raise expected(what, value)
