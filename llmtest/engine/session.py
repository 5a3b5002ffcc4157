"""One run from the first call to the last record: what both front ends share.

The pytest plugin and ``llmtest run`` / ``llmtest canary`` differ in how they find cases
(pytest items, or a plan of every case under some paths) and in what they print. The rest
is here, once: which model a case runs on, the engine and its layers, the results file and
its header, skip records, the history, and the figures the terminal prints.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmtest.adapters.layers import Layers, build_layers
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig, ProjectConfig
from llmtest.engine.engine import Engine, Execution, Job, RetryEvent
from llmtest.engine.evaluation import CaseOutcome, evaluate
from llmtest.engine.plan import RunPlan
from llmtest.engine.settings import ModelChoice, RunSettings
from llmtest.errors import ConfigError, LLMTestError
from llmtest.results.history import History, RunRecorder
from llmtest.results.jsonl import ResultWriter, git_sha, header_model, new_run_id
from llmtest.results.record import CaseResult, RunHeader, skip_record


@dataclass
class RunTotals:
    """A run's figures as its cases finish: what the progress display and the closing
    summary show. Latencies are per attempt, as in every report."""

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


class ResultsOutput:
    """One results file of a run (a canary run has two): its run id, its header, its
    writer, and the history rows built as records are written."""

    def __init__(self, session: RunSession, path: Path | None, run_id: str) -> None:
        self.session = session
        self.path = path
        self.run_id = run_id
        self.writer: ResultWriter | None = None
        self.recorder: RunRecorder | None = None
        self.replaced = False
        """Whether this run's header replaced an earlier run in the file."""
        self.opened = False
        """Whether the file was opened for the run (a run that could not is not recorded)."""

    def open(
        self, header: RunHeader | None, *, stream_history: bool = False, claim: bool = True
    ) -> None:
        """Open the file, claimed for this run (see ResultWriter.claim), beginning it with
        ``header`` (a resumed run passes none and appends; an xdist worker neither claims
        nor begins it). With ``stream_history`` the history rows are built as records are
        written (one process writes them all); otherwise the file is imported at the end."""
        if self.path is None:
            return
        history = self.session.settings.history
        if stream_history and header is not None and history is not None:
            path = self.session.settings.path(history)
            self.recorder = History(path).recorder(header)
        self.writer = ResultWriter(
            self.path, on_record=self.recorder.add if self.recorder else None
        )
        if header is not None:
            self.writer.write_header(header)
            self.replaced = self.writer.replaced
        elif claim:
            self.writer.claim()
        self.opened = True

    def record(self, results: Iterable[CaseResult]) -> None:
        if self.writer is not None:
            for result in results:
                if result.run_id != self.run_id:
                    result = dataclasses.replace(result, run_id=self.run_id)
                self.writer.write(result)

    def confirm(self, result: CaseResult) -> None:
        """An attempt run to confirm a regression (never a case record of the run)."""
        if self.writer is not None:
            if result.run_id != self.run_id:
                result = dataclasses.replace(result, run_id=self.run_id)
            self.writer.write_confirmation(result)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def store_history(self) -> str | None:
        """Record the finished run in the history; the warning to show if that failed."""
        history = self.session.settings.history
        if history is None or self.path is None or not self.opened:
            return None
        path = self.session.settings.path(history)
        try:
            if self.recorder is not None:
                self.recorder.store(source=self.path)
            else:
                History(path).import_file(self.path)
        except (LLMTestError, OSError, sqlite3.Error) as exc:
            return f"could not record the run in {path}: {exc}"
        return None


class RunSession:
    """Owns one run: its models, its engine (with the cache and recorder layers) and its
    results files. Records are written from whichever thread evaluates an answer."""

    def __init__(
        self,
        settings: RunSettings,
        project: ProjectConfig,
        *,
        run_id: str | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self.settings = settings
        self.project = project
        self.models = ModelChoice(project, settings)
        self.on_retry = on_retry
        self.engine: Engine | None = None
        self.layers: Layers | None = None
        results = settings.path(settings.results) if settings.results else None
        self.output = ResultsOutput(self, results, run_id or new_run_id())
        """The run's results file (``settings.results``; none without it)."""
        self.outputs = [self.output]

    @property
    def run_id(self) -> str:
        return self.output.run_id

    def add_output(self, path: Path) -> ResultsOutput:
        """Another results file of this run, with its own run id (the canary's sides)."""
        output = ResultsOutput(self, path, new_run_id())
        self.outputs.append(output)
        return output

    def start_engine(self) -> Engine:
        if self.engine is None:
            self.layers = build_layers(
                cache_mode=self.settings.cache, record=self.settings.record, root=self.settings.root
            )
            self.engine = Engine(
                concurrency=self.settings.concurrency,
                on_retry=self.on_retry,
                wrap_adapter=self.layers,
            )
            self.engine.start()
        return self.engine

    def warnings(self) -> list[str]:
        """What went wrong without failing any case, to say at the end of the run."""
        cache = self.layers.cache if self.layers is not None else None
        warning = cache.warning() if cache is not None else None
        return [warning] if warning else []

    def submit(self, jobs: Sequence[Job]) -> list[concurrent.futures.Future[Execution]]:
        return self.start_engine().submit_many(jobs)

    def header(
        self,
        models: Sequence[ModelConfig],
        suites: dict[str, str],
        *,
        run_id: str | None = None,
        **extra: Any,
    ) -> RunHeader:
        return RunHeader(
            run_id=run_id or self.run_id,
            model=header_model(models),
            suites=suites,
            git_sha=git_sha(self.settings.root),
            extra=extra,
        )

    def skip_record(self, case: Case) -> CaseResult:
        """A ``skip:`` case's record: the reason, no call."""
        model = None
        with contextlib.suppress(ConfigError):
            model = self.models.for_case(case)
        return skip_record(case, model, self.run_id)

    def close(self) -> None:
        """Stop the engine and close the results files (safe to call twice)."""
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        for output in self.outputs:
            output.close()


@dataclass
class Lane:
    """One model's share of a run: its plan, its results file and its totals."""

    plan: RunPlan
    output: ResultsOutput
    totals: RunTotals = field(default_factory=RunTotals)


def execute_lanes(
    session: RunSession,
    lanes: Sequence[Lane],
    *,
    on_outcome: Callable[[CaseOutcome, RunTotals], None] | None = None,
) -> None:
    """Run the lanes' planned cases, evaluate and record each as it completes.

    Several lanes run at once, their cases interleaved (case 1 of every lane, then case
    2, ...), so a slow minute at the provider falls on every model alike: the canary. The
    model calls run on the engine's loop; this thread evaluates and writes, so checks never
    stall the calls. Ctrl-C stops submitting, keeps what finished, and re-raises.
    """
    for lane in lanes:
        for case, model in lane.plan.skipped:
            lane.totals.skipped += 1
            lane.output.record([skip_record(case, model, lane.output.run_id)])
    jobs: list[Job] = []
    job_lanes: list[Lane] = []
    for index in range(max((len(lane.plan.cases) for lane in lanes), default=0)):
        for lane in lanes:
            if index < len(lane.plan.cases):
                planned = lane.plan.cases[index]
                jobs.append(Job(planned.case, planned.model, planned.attempts))
                job_lanes.append(lane)
    if not jobs:
        return
    futures = dict(zip(session.submit(jobs), job_lanes, strict=True))
    try:
        for future in concurrent.futures.as_completed(futures):
            lane = futures[future]
            outcome = evaluate(future.result(), lane.output.run_id)
            lane.totals.add(outcome)
            lane.output.record(outcome.results)
            if on_outcome is not None:
                on_outcome(outcome, lane.totals)
    except KeyboardInterrupt:
        for lane in lanes:
            lane.totals.interrupted = True
        for future in futures:
            future.cancel()
        raise
