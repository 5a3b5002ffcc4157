"""llmtest: regression tests for LLM applications, run by pytest or by ``llmtest run``.

The public surface is small and imported lazily, so ``import llmtest`` costs little and
never imports a provider SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Request": "llmtest.adapters.base",
    "Response": "llmtest.adapters.base",
    "Usage": "llmtest.adapters.base",
    "Message": "llmtest.adapters.base",
    "AssertionResult": "llmtest.assertions.base",
    "AssertionType": "llmtest.assertions.base",
    "Case": "llmtest.cases.model",
    "load_suite": "llmtest.cases.loader",
    "ModelConfig": "llmtest.config.project",
    "Engine": "llmtest.engine.engine",
    "connect": "llmtest.engine.client",
    "ModelClient": "llmtest.engine.client",
    "evaluate": "llmtest.engine.evaluation",
    "CaseResult": "llmtest.results.record",
    "LLMAssertionError": "llmtest.errors",
    "ModelCallError": "llmtest.errors",
    "CaseFileError": "llmtest.errors",
    "hookimpl": "llmtest.plugins.hookspecs",
}
_ASSERT_PREFIX = "assert_"

if TYPE_CHECKING:
    from llmtest.adapters.base import Message as Message
    from llmtest.adapters.base import Request as Request
    from llmtest.adapters.base import Response as Response
    from llmtest.adapters.base import Usage as Usage
    from llmtest.assertions import *  # noqa: F403
    from llmtest.assertions.base import AssertionResult as AssertionResult
    from llmtest.assertions.base import AssertionType as AssertionType
    from llmtest.cases.loader import load_suite as load_suite
    from llmtest.cases.model import Case as Case
    from llmtest.config.project import ModelConfig as ModelConfig
    from llmtest.engine.client import ModelClient as ModelClient
    from llmtest.engine.client import connect as connect
    from llmtest.engine.engine import Engine as Engine
    from llmtest.engine.evaluation import evaluate as evaluate
    from llmtest.errors import CaseFileError as CaseFileError
    from llmtest.errors import LLMAssertionError as LLMAssertionError
    from llmtest.errors import ModelCallError as ModelCallError
    from llmtest.plugins.hookspecs import hookimpl as hookimpl
    from llmtest.results.record import CaseResult as CaseResult


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name.startswith(_ASSERT_PREFIX):
        assertions = importlib.import_module("llmtest.assertions")
        if hasattr(assertions, name):
            return getattr(assertions, name)
    raise AttributeError(f"module 'llmtest' has no attribute {name!r}")


def __dir__() -> list[str]:
    assertions = importlib.import_module("llmtest.assertions")
    names = [n for n in dir(assertions) if n.startswith(_ASSERT_PREFIX)]
    return sorted([*_EXPORTS, *names, "__version__"])
