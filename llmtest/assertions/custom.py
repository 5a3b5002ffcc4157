"""Checks the user writes in Python and names in a case file as ``module:function``.

The function is imported and its signature inspected when the case is loaded. When it
runs, whatever it raises is the user's own bug: it fails the assertion with the
exception in one line instead of a traceback from inside llmtest.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import SHARE, TABLE, FolderArg, Text, expected, is_number
from llmtest.assertions.base import AssertionResult, Judge, Verdict
from llmtest.assertions.declaration import Shorthand, assertion
from llmtest.assertions.excerpt import excerpt, short_repr
from llmtest.errors import AssertionSpecError

DEFAULT_THRESHOLD = 0.5
ACCEPTED_RETURNS = (
    "a bool, a score between 0 and 1, an AssertionResult "
    "or a dict {'pass': bool, 'score': float, 'reason': str}"
)
_RESULT_KEYS = frozenset({"pass", "score", "reason"})
_FUNCTION = Text("'module:function'")

_modules_by_path: dict[Path, ModuleType] = {}


@dataclass(frozen=True)
class PythonCheck:
    """A user's check function, imported and inspected once, called for every answer.

    It is called as ``function(output, context)`` with ``context = {"response": Response,
    "config": dict}``, or as ``function(output)`` when it takes a single argument.
    """

    label: str
    function: Callable[..., Any]
    config: Mapping[str, Any] = field(default_factory=dict)
    takes_context: bool = True
    threshold: float = DEFAULT_THRESHOLD

    def __call__(self, response: Response) -> Verdict:
        try:
            if self.takes_context:
                context = {"response": response, "config": dict(self.config)}
                returned = self.function(response.text, context)
            else:
                returned = self.function(response.text)
        except Exception as exc:  # noqa: BLE001 - the user's check failed, not us
            message = f"python check {self.label!r} raised {type(exc).__name__}: {exc}"
            return Verdict(False, None, message)
        return self._verdict(returned, response.text)

    def _verdict(self, returned: Any, text: str) -> Verdict:
        name = f"python check {self.label!r}"
        if isinstance(returned, AssertionResult):
            return Verdict(returned.passed, returned.score, returned.message)
        if isinstance(returned, bool):
            if returned:
                return Verdict(True, None, f"{name} passed")
            return Verdict(False, None, f"{name} returned False; got: {excerpt(text)}")
        if is_number(returned) and 0 <= returned <= 1:
            score = float(returned)
            verdict = f"{name} scored {score:g}"
            if score >= self.threshold:
                return Verdict(True, score, f"{verdict} (threshold {self.threshold:g})")
            message = f"{verdict}, below the threshold {self.threshold:g}; got: {excerpt(text)}"
            return Verdict(False, score, message)
        if _is_result_dict(returned):
            passed, score, reason = returned["pass"], returned.get("score"), returned.get("reason")
            outcome = "passed" if passed else "failed"
            message = f"{name} {outcome}: {reason}" if reason else f"{name} {outcome}"
            if not passed:
                message += f"; got: {excerpt(text)}"
            return Verdict(passed, None if score is None else float(score), message)
        message = f"{name} returned {short_repr(returned)}; it must return {ACCEPTED_RETURNS}"
        return Verdict(False, None, message)


def load_function(target: str, base_dir: Path | str = ".") -> Callable[..., Any]:
    """Resolve ``module:function``: an importable module first, else ``<base_dir>/<module>.py``.

    The fallback lets a case file name a checks module sitting next to it without any
    ``sys.path`` setup; modules loaded that way are cached by path.
    """
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise expected(_FUNCTION.what, target)
    module = _import(module_name, Path(base_dir))
    function: Callable[..., Any] | None = getattr(module, function_name, None)
    if function is None:
        raise AssertionSpecError(
            f"cannot find function {function_name!r} in module {module_name!r}"
        )
    if not callable(function):
        shown = short_repr(function)
        raise AssertionSpecError(f"cannot call {target!r}: it is {shown}, not a function")
    return function


@assertion(
    summary='your function returns true, a score ≥ `config.threshold` (0.5), or `{"pass": true}`',
    shorthand=Shorthand("function", _FUNCTION.what, accepts=(str,)),
)
def python(
    function: Annotated[str | Callable[..., Any], _FUNCTION],
    *,
    config: Annotated[Mapping[str, Any] | None, TABLE] = None,
    base_dir: FolderArg = ".",
) -> Judge:
    """Import (if named), inspect and configure a check function; every error raised here.

    Reuse a case file's check function in a Python test, with the same verdicts.
    """
    config = dict(config or {})
    threshold = SHARE.field("config.threshold", config.get("threshold", DEFAULT_THRESHOLD))
    if isinstance(function, str):
        label, resolved = function, load_function(function, base_dir)
    else:
        label, resolved = _label(function), function
    return PythonCheck(label, resolved, config, _takes_context(resolved, label), threshold)


prepare_python = python.factory
check_python, assert_python = python.check, python.assert_


def _import(module_name: str, base_dir: Path) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not _is_self(exc.name, module_name):
            raise AssertionSpecError(_import_failure(module_name, exc)) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import
        raise AssertionSpecError(_import_failure(module_name, exc)) from None
    *packages, last = module_name.split(".")
    path = base_dir.joinpath(*packages, f"{last}.py").resolve()
    if not path.is_file():
        raise AssertionSpecError(
            f"cannot import {module_name!r}: no such module, and no file {path}"
        )
    return _load_file(path, module_name)


def _load_file(path: Path, module_name: str) -> ModuleType:
    if path in _modules_by_path:
        return _modules_by_path[path]
    # A private name: two suites may each keep a different checks.py.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    unique = f"_llmtest_python_check_{digest}_{path.stem}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise AssertionSpecError(f"cannot import {module_name!r} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import
        del sys.modules[unique]
        raise AssertionSpecError(_import_failure(module_name, exc)) from None
    _modules_by_path[path] = module
    return module


def _is_self(missing: str | None, module_name: str) -> bool:
    """Whether the missing module is the one named (or a parent), not one it imports."""
    return missing is not None and (module_name == missing or module_name.startswith(missing + "."))


def _import_failure(module_name: str, exc: Exception) -> str:
    return f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"


def _takes_context(function: Callable[..., Any], label: str) -> bool:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    for arguments, takes_context in (((None, None), True), ((None,), False)):
        try:
            signature.bind(*arguments)
        except TypeError:
            continue
        return takes_context
    raise AssertionSpecError(
        f"cannot call {label!r}: it must accept (output) or (output, context), "
        f"but its signature is {signature}"
    )


def _label(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return f"{module}:{name}"


def _is_result_dict(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= _RESULT_KEYS:
        return False
    score, reason = value.get("score"), value.get("reason")
    return (
        isinstance(value.get("pass"), bool)
        and (score is None or is_number(score))
        and (reason is None or isinstance(reason, str))
    )
