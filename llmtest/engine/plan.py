"""A run without pytest: which cases run, on which model, and which attempts a resumed
results file still lacks. ``llmtest run`` and ``llmtest canary`` plan with this."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llmtest._gc import gc_paused
from llmtest.cases.loader import display_path, load_suite
from llmtest.cases.model import Case, Suite
from llmtest.cases.selection import Selection
from llmtest.config.project import ModelConfig
from llmtest.engine.settings import ModelChoice
from llmtest.errors import CaseFileError, ConfigError
from llmtest.results.jsonl import ResultsFile


@dataclass(frozen=True)
class PlannedCase:
    case: Case
    model: ModelConfig
    attempts: tuple[int, ...]


@dataclass
class RunPlan:
    suites: list[Suite]
    cases: list[PlannedCase]
    skipped: list[tuple[Case, ModelConfig | None]]
    already_done: int = 0
    fallback_model: ModelConfig | None = None
    """The model the run names (--model, else the project default), for a plan with no
    case to run: an empty shard's header still says which model its run was for."""

    @property
    def models(self) -> list[ModelConfig]:
        models = [p.model for p in self.cases] or [m for _, m in self.skipped if m is not None]
        if not models and self.fallback_model is not None:
            models = [self.fallback_model]
        return list({m.name: m for m in models}.values())

    @property
    def calls(self) -> int:
        return sum(len(p.attempts) for p in self.cases)


def load_suites(files: Sequence[Path], root: Path) -> tuple[list[Suite], list[CaseFileError]]:
    """Load every file; collect all errors so a user fixes them in one go."""
    suites: list[Suite] = []
    errors: list[CaseFileError] = []
    with gc_paused():
        for path in files:
            display = display_path(path, root)
            try:
                suites.append(load_suite(path, display, root))
            except CaseFileError as exc:
                errors.append(exc)
    return suites, errors


@dataclass
class Planner:
    """Resolves each selected case's model and leaves out what a resumed results file
    already holds."""

    models: ModelChoice
    selection: Selection = field(default_factory=Selection)
    repeat: int | None = None

    def plan(self, suites: Iterable[Suite], resume: ResultsFile | None = None) -> RunPlan:
        suites = list(suites)
        done = resume.finished_keys() if resume is not None else set()
        planned: list[PlannedCase] = []
        skipped: list[tuple[Case, ModelConfig | None]] = []
        already = 0
        by_path = {suite.path: suite for suite in suites}
        cases = (case for suite in suites for case in suite.cases)
        for case in self.selection.select(cases):
            if self.repeat is not None:
                case = dataclasses.replace(case, repeat=self.repeat)
            model = self._model(case, by_path[case.suite])
            if case.skip:
                if (case.suite, case.id, case.hash, 0) in done:  # recorded before a resume
                    already += 1
                else:
                    skipped.append((case, model))
                continue
            missing = tuple(
                i for i in range(case.repeat) if (case.suite, case.id, case.hash, i) not in done
            )
            if not missing:
                already += 1
                continue
            planned.append(PlannedCase(case, model, missing))
        fallback = None
        spec = self.models.spec_for()
        if spec and not planned and not skipped:  # only then is it needed, so only then checked
            fallback = self.models.resolve(spec)
        return RunPlan(suites, planned, skipped, already, fallback)

    def _model(self, case: Case, suite: Suite) -> ModelConfig:
        """The case's model; a spec that does not resolve is blamed where it was written:
        the command line, the suite's ``model:``, the case's own, or the project default."""
        if self.models.spec_for(case) is None:
            raise ConfigError(f"{case.suite}: case {case.id!r}: {self.models.no_model_message()}")
        try:
            return self.models.for_case(case)
        except ConfigError as exc:
            settings = self.models.settings
            if settings.model is not None:
                where = settings.model_flag
            elif case.model is None:
                where = settings.model_setting
            elif case.model == suite.model:
                line = f":{suite.model_line}" if suite.model_line else ""
                where = f"{suite.path}{line}: field 'model'"
            else:
                line = f":{case.line}" if case.line else ""
                where = f"{case.suite}{line}: case {case.id!r}: field 'model'"
            raise ConfigError(f"{where}: {exc}") from None
