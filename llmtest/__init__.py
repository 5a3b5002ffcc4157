"""llmtest: regression tests for LLM applications, run by pytest or by ``llmtest run``."""

from __future__ import annotations

__version__ = "0.1.0"
