"""Writing a report file: CI paths like ``reports/llm.xml`` often name a folder that does
not exist yet, and a failure to write is the user's to fix, so it is a sentence."""

from __future__ import annotations

from pathlib import Path

from llmtest.errors import LLMTestError


def write_report(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LLMTestError(f"cannot write report {path}: {exc.strerror or exc}") from None
