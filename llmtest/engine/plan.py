"""A run without pytest: plan the cases, call the models concurrently, evaluate and stream
every record to disk as it finishes. ``llmtest run`` (and the canary) drive this."""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llmtest.adapters.resolver import ModelResolver
from llmtest.cases.loader import display_path, load_suite
from llmtest.cases.model import Case, Suite
from llmtest.cases.selection import Selection
from llmtest.config.project import ModelConfig, ProjectConfig
from llmtest.engine._gc import gc_paused
from llmtest.engine.engine import Engine, Job
from llmtest.engine.evaluation import CaseOutcome, evaluate
from llmtest.errors import CaseFileError, ConfigError
from llmtest.results.jsonl import ResultsFile, ResultWriter
from llmtest.results.record import CaseResult, skip_record


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
                suites.append(load_suite(path, display))
            except CaseFileError as exc:
                errors.append(exc)
    return suites, errors


@dataclass
class Planner:
    """Resolves each case's model (command line, then suite, then project default) and
    leaves out what a resumed results file already holds."""

    project: ProjectConfig
    model_override: str | None = None
    selection: Selection = field(default_factory=Selection)
    repeat: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None

    def __post_init__(self) -> None:
        self.model = ModelResolver(
            self.project, timeout_s=self.timeout_s, max_retries=self.max_retries
        )

    def plan(self, suites: Iterable[Suite], resume: ResultsFile | None = None) -> RunPlan:
        suites = list(suites)
        done = resume.finished_keys() if resume is not None else set()
        planned: list[PlannedCase] = []
        skipped: list[tuple[Case, ModelConfig | None]] = []
        already = 0
        cases = (case for suite in suites for case in suite.cases)
        for case in self.selection.select(cases):
            if self.repeat is not None:
                case = dataclasses.replace(case, repeat=self.repeat)
            spec = self.model_override or case.model or self.project.default_model
            if spec is None:
                raise ConfigError(
                    f"{case.suite}: case {case.id!r}: no model configured: pass --model SPEC, "
                    "set 'model:' in the case file, or set [tool.llmtest] model"
                )
            try:
                model = self.model(spec)
            except ConfigError as exc:
                where = f"{case.suite}:{case.line}" if case.line else case.suite
                raise ConfigError(f"{where}: case {case.id!r}: field 'model': {exc}") from None
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
        spec = self.model_override or self.project.default_model
        if spec and not planned and not skipped:  # only then is it needed, so only then checked
            fallback = self.model(spec)
        return RunPlan(suites, planned, skipped, already, fallback)


@dataclass
class RunTotals:
    cases: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    retries: int = 0
    calls: int = 0
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0
    records: list[CaseResult] = field(default_factory=list)
    problems: list[CaseOutcome] = field(default_factory=list)
    usage_reported: bool = False
    cost_reported: bool = False
    interrupted: bool = False

    def add(self, outcome: CaseOutcome) -> None:
        self.cases += 1
        status = outcome.status
        if status == "pass":
            self.passed += 1
        elif status == "fail":
            self.failed += 1
        else:
            self.errors += 1
        if status != "pass":
            self.problems.append(outcome)
        for result in outcome.results:
            self.calls += 1
            self.retries += result.retries
            if result.latency_ms is not None:
                self.latencies.append(result.latency_ms)
            if result.input_tokens is not None or result.output_tokens is not None:
                self.usage_reported = True
                self.tokens += (result.input_tokens or 0) + (result.output_tokens or 0)
            if result.cost_usd is not None:
                self.cost_reported = True
                self.cost_usd += result.cost_usd

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 some case failed, 2 errors prevented a verdict."""
        if self.errors or self.interrupted:
            return 2
        return 1 if self.failed else 0


@dataclass
class Lane:
    """One model's share of a run: its plan, its results file and its totals."""

    plan: RunPlan
    run_id: str
    writer: ResultWriter | None = None
    totals: RunTotals = field(default_factory=RunTotals)


def execute(
    plan: RunPlan,
    engine: Engine,
    *,
    run_id: str,
    writer: ResultWriter | None = None,
    on_outcome: Callable[[CaseOutcome, RunTotals], None] | None = None,
    keep_records: bool = False,
) -> RunTotals:
    """Submit every planned case, then evaluate and write each as it completes.

    The model calls run on the engine's loop; this thread does the evaluating and writing,
    so checks never stall the calls. Ctrl-C stops submitting, keeps what finished, and
    re-raises once the file is consistent.
    """
    lane = Lane(plan, run_id, writer)
    execute_lanes([lane], engine, on_outcome=on_outcome, keep_records=keep_records)
    return lane.totals


def execute_lanes(
    lanes: Sequence[Lane],
    engine: Engine,
    *,
    on_outcome: Callable[[CaseOutcome, RunTotals], None] | None = None,
    keep_records: bool = False,
) -> None:
    """Run several lanes at once, their cases interleaved (case 1 of every lane, then case
    2, ...), so a slow minute at the provider falls on every model alike: the canary."""
    for lane in lanes:
        for case, model in lane.plan.skipped:
            lane.totals.skipped += 1
            _keep(lane, skip_record(case, model, lane.run_id), keep_records)
    jobs: list[Job] = []
    job_lanes: list[Lane] = []
    for index in range(max((len(lane.plan.cases) for lane in lanes), default=0)):
        for lane in lanes:
            if index < len(lane.plan.cases):
                planned = lane.plan.cases[index]
                jobs.append(Job(planned.case, planned.model, planned.attempts))
                job_lanes.append(lane)
    futures = dict(zip(engine.submit_many(jobs), job_lanes, strict=True))
    try:
        for future in concurrent.futures.as_completed(futures):
            lane = futures[future]
            outcome = evaluate(future.result(), lane.run_id)
            lane.totals.add(outcome)
            for result in outcome.results:
                _keep(lane, result, keep_records)
            if on_outcome is not None:
                on_outcome(outcome, lane.totals)
    except KeyboardInterrupt:
        for lane in lanes:
            lane.totals.interrupted = True
        for future in futures:
            future.cancel()
        raise


def _keep(lane: Lane, record: CaseResult, keep_records: bool) -> None:
    if lane.writer is not None:
        lane.writer.write(record)
    if keep_records:
        lane.totals.records.append(record)
