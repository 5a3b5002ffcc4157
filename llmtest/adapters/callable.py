"""Test the user's own application: ``callable:package.module:function``.

The function may be sync or async, take the prompt string or the message list, and return a
string or a :class:`Response`. Sync functions run in worker threads so they do not block the
other calls.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
import time
import typing
from collections.abc import Callable
from types import ModuleType
from typing import Any

from llmtest.adapters.base import Request, Response, Usage
from llmtest.config.project import ModelConfig
from llmtest.errors import ConfigError, ModelCallError

_INPUT_KINDS = ("prompt", "messages", "request")


def split_target(target: str) -> tuple[str, str]:
    """``package.module:function`` (or ``package.module.function``) as (module, attribute)."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"callable target {target!r} must look like 'package.module:function'")
    return module_name, attr


def import_target(target: str, root: str | None = None) -> Callable[..., Any]:
    """Import ``package.module:function`` (or ``package.module.function``); a module that
    is not installed is looked for in the project folder and the working directory, as
    ``python -m`` would."""
    module_name, attr = split_target(target)
    try:
        module = _import_module(module_name, [p for p in (root, os.getcwd()) if p])
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r} for callable {target!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{module_name!r} has no attribute {attr!r} (callable {target!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"callable target {target!r} is not callable")
    return typing.cast(Callable[..., Any], obj)


def _import_module(name: str, folders: list[str]) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.partition(".")[0]:
            raise
        missing = [folder for folder in folders if folder not in sys.path]
        if not missing:
            raise
        sys.path[:0] = missing
        return importlib.import_module(name)


def _input_kind(fn: Callable[..., Any], configured: object) -> str:
    """``input`` in the alias wins; otherwise a first parameter annotated as a list (or
    named ``messages``) receives messages, and everything else receives the prompt."""
    if configured is not None:
        if configured not in _INPUT_KINDS:
            raise ConfigError(
                f"callable option 'input' must be one of {_INPUT_KINDS}, got {configured!r}"
            )
        return str(configured)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return "prompt"
    if not params:
        raise ConfigError(f"callable {fn!r} must accept the prompt or the messages")
    first = params[0]
    annotation = str(first.annotation)
    if first.name in ("messages", "request") or annotation.startswith(
        ("list", "Sequence", "typing.List")
    ):
        return "messages" if first.name != "request" else "request"
    return "prompt"


class CallableAdapter:
    name = "callable"

    @classmethod
    def check_config(cls, config: ModelConfig) -> None:
        """The target's shape, when the model is named (importing it waits for the run)."""
        split_target(config.model)

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.fn = import_target(config.model, config.root)
        self.input = _input_kind(self.fn, config.options.get("input"))
        self.is_async = inspect.iscoroutinefunction(self.fn) or inspect.iscoroutinefunction(
            type(self.fn).__call__
        )

    async def complete(self, request: Request) -> Response:
        argument: Any
        if self.input == "messages":
            argument = [dict(m) for m in request.messages]
        elif self.input == "request":
            argument = request
        else:
            argument = request.prompt
        started = time.perf_counter()
        try:
            if self.is_async:
                result = await self.fn(argument)
            else:
                result = await asyncio.to_thread(self.fn, argument)
        except ModelCallError:
            raise
        except Exception as exc:  # noqa: BLE001 - the app's own failure is the case's error
            raise ModelCallError(
                f"callable {self.config.model!r} raised {type(exc).__name__}: {exc}"
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000
        return _as_response(result, self.config.model, latency_ms)

    async def aclose(self) -> None:
        return None


def _as_response(result: Any, target: str, latency_ms: float) -> Response:
    if isinstance(result, Response):
        if result.latency_ms is None:
            return Response(
                text=result.text,
                model=result.model or target,
                latency_ms=latency_ms,
                usage=result.usage,
                cost_usd=result.cost_usd,
                raw=result.raw,
                finish_reason=result.finish_reason,
            )
        return result
    if isinstance(result, str):
        return Response(text=result, model=target, latency_ms=latency_ms, usage=Usage())
    raise ModelCallError(
        f"callable {target!r} returned {type(result).__name__}; return a str or llmtest.Response"
    )
