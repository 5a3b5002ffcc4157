"""Which cases a run includes: tags, id globs, shards, a cap."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from llmtest.cases.model import Case
from llmtest.config.options import Shard


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
