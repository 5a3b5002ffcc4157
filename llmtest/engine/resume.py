"""Continuing an interrupted run in its own results file: what it still lacks, on the
model(s) it started with."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmtest.cases.model import Suite
from llmtest.engine.plan import RunPlan
from llmtest.errors import ConfigError
from llmtest.results.jsonl import ResultsFile, load_results
from llmtest.results.record import RunHeader


@dataclass(frozen=True)
class Resumed:
    """The results file to resume, as it must be before the run appends to it."""

    file: ResultsFile
    header: RunHeader
    rewrite: bool
    """Whether the file must be rewritten first: without a line torn by a crash, without
    records of cases edited since (they run again; a report must not count the old answer
    beside the new), nor, with ``retry_errors``, records of attempts that got no answer; its
    header naming the suites as they are now (shards resumed after an edit still merge)."""

    @property
    def model(self) -> str | None:
        """The model the run used, for a command line that names none."""
        name = self.header.model_name
        return name if name != "mixed" else None


def load_resume(path: Path, suites: Sequence[Suite], *, retry_errors: bool) -> Resumed:
    original = load_results(path)
    header = original.header
    if header is None:
        raise ConfigError(f"{path} has no run header: it is not a results file to resume")
    current = {(case.suite, case.id): case.hash for suite in suites for case in suite.cases}
    kept = [
        c
        for c in original.cases
        if current.get((c.suite, c.case_id), c.case_hash) == c.case_hash
        and not (retry_errors and c.status == "error")
    ]
    suites_now = {**header.suites, **{suite.path: suite.hash for suite in suites}}
    rewrite = (
        len(kept) < len(original.cases)
        or original.skipped_lines > 0
        or suites_now != dict(header.suites)
    )
    header = dataclasses.replace(header, suites=suites_now)
    return Resumed(ResultsFile(original.path, [header], kept), header, rewrite)


def check_resume_model(header: RunHeader, plan: RunPlan, *, given: str | None) -> None:
    """The rest of a run must go to the model(s) it started with."""
    recorded = header.model_name
    if recorded == "mixed" and given:
        raise ConfigError(
            f"the resumed run's suites name different models; resume it without --model {given} "
            "so that each case keeps its own"
        )
    used = set(header.model_names)  # a mixed run: each case keeps its own
    models = {m.name for m in plan.models}
    if recorded and models and not models <= used:
        hint = "" if recorded == "mixed" else f"; pass --model {recorded}"
        raise ConfigError(
            f"the resumed run used {', '.join(sorted(used))}, this one would use "
            f"{', '.join(sorted(models))}{hint}"
        )
