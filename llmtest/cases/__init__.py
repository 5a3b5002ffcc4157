"""Case files: format, validation and loading (the names below load on first use, so that
pytest's start-up in a project without case files does not pay for the loader)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmtest.cases.loader import load_suite as load_suite
    from llmtest.cases.model import AssertionSpec as AssertionSpec
    from llmtest.cases.model import Case as Case
    from llmtest.cases.model import Suite as Suite

_LAZY = {
    "load_suite": "llmtest.cases.loader",
    "AssertionSpec": "llmtest.cases.model",
    "Case": "llmtest.cases.model",
    "Suite": "llmtest.cases.model",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
