"""Which files are case files: the names pytest collects and ``llmtest run`` finds. Cheap
to import: pytest asks it about every file it collects, in every project."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import Path

from llmtest.errors import ConfigError

DEFAULT_FILE_PATTERNS = (
    "test_*.llm.yaml",
    "test_*.llm.yml",
    "test_*.llm.jsonl",
    "test_*.llm.csv",
)
CASE_SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv")
"""The formats a case file may be in (a file included by a suite, too)."""
_SKIPPED_FOLDERS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".llmtest", ".tox"}


def is_case_file(path: Path, patterns: Sequence[str] = DEFAULT_FILE_PATTERNS) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def discover(paths: Iterable[Path], patterns: Sequence[str] = DEFAULT_FILE_PATTERNS) -> list[Path]:
    """Case files named on the command line, or found below the folders named, sorted;
    each file once, however many paths lead to it."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and is_case_file(p, patterns)
                and not _SKIPPED_FOLDERS.intersection(p.relative_to(path).parts[:-1])
            )
        else:
            raise ConfigError(f"no such file or folder: {path}")
    # One file reached twice (a symbolic link beside its target, a path named twice) is
    # one suite: loaded twice it would run every case twice under one suite name.
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())
