"""Which cases a run includes: case files under paths, tags, id globs, shards, a cap."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmtest.cases.model import Case
from llmtest.config.options import Shard
from llmtest.errors import ConfigError

DEFAULT_FILE_PATTERNS = (
    "test_*.llm.yaml",
    "test_*.llm.yml",
    "test_*.llm.jsonl",
    "test_*.llm.csv",
)
_SKIPPED_FOLDERS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".llmtest", ".tox"}


def is_case_file(path: Path, patterns: Sequence[str] = DEFAULT_FILE_PATTERNS) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def discover(paths: Iterable[Path], patterns: Sequence[str] = DEFAULT_FILE_PATTERNS) -> list[Path]:
    """Case files named on the command line, or found below the folders named, sorted."""
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
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Selection:
    tags: frozenset[str] = frozenset()
    exclude_tags: frozenset[str] = frozenset()
    ids: tuple[str, ...] = ()
    shard: Shard | None = None
    max_cases: int | None = None

    def select(self, cases: Iterable[Case]) -> Iterator[Case]:
        taken = 0
        for case in cases:
            if self.max_cases is not None and taken >= self.max_cases:
                return
            if self.tags and not self.tags.intersection(case.tags):
                continue
            if self.exclude_tags.intersection(case.tags):
                continue
            if self.ids and not any(_id_matches(case, pattern) for pattern in self.ids):
                continue
            if self.shard is not None and not self.shard.holds(case.suite, case.id):
                continue
            taken += 1
            yield case


def _id_matches(case: Case, pattern: str) -> bool:
    return fnmatch.fnmatchcase(case.id, pattern) or fnmatch.fnmatchcase(
        f"{case.suite}::{case.id}", pattern
    )


def split_list(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())
