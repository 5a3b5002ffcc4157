"""llmtest's state in a pytest session: the shared run session, and what only pytest needs."""

from __future__ import annotations

import concurrent.futures
import sys
from collections.abc import Iterable
from typing import Any

import pytest

from llmtest.cases.model import Case
from llmtest.config import options
from llmtest.config.project import ModelConfig, load_project_config
from llmtest.engine.engine import Execution, Job
from llmtest.engine.evaluation import CaseOutcome
from llmtest.engine.session import ResultsOutput, RunSession
from llmtest.engine.settings import RunSettings
from llmtest.errors import ConfigError, LLMTestError


class LLMSession:
    """Stored in ``config.stash``: the :class:`~llmtest.engine.session.RunSession` both front
    ends share, and pytest's own bookkeeping (futures by node id, tag markers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        try:
            project = load_project_config(config.rootpath)
            settings = RunSettings.from_options(
                config.rootpath,
                self._option,
                base=config.rootpath,
                default_model=config.getini("llmtest_model") or None,
                model_flag="--llm-model",
                model_setting="llmtest_model / [tool.llmtest] model",
            )
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        workerinput = getattr(config, "workerinput", {})
        self.run = RunSession(settings, project, run_id=workerinput.get("llmtest_run_id"))
        self.settings = settings
        self.suites: dict[str, str] = {}
        self.futures: dict[str, concurrent.futures.Future[Execution]] = {}
        self.tag_marks: dict[str, pytest.MarkDecorator] = {}
        """The marker of every case tag seen, registered with pytest."""
        if settings.model is not None:
            try:
                self.run.models.resolve(settings.model)
            except ConfigError as exc:
                raise pytest.UsageError(f"--llm-model: {exc}") from None

    def _option(self, name: str) -> Any:
        option = options.OPTIONS_BY_NAME[name]
        try:
            return options.resolve(
                name, self.config.getoption(option.dest), self.config.getini(option.ini)
            )
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None

    def model_for(self, case: Case) -> ModelConfig:
        return self.run.models.for_case(case)

    def write_header(self, cases: list[Case]) -> None:
        """The results file's first line: written once, by the process that starts the run."""
        if self.settings.results is None:
            return
        models = []
        for case in cases:
            try:
                models.append(self.model_for(case))
            except ConfigError:
                continue
        spec = self.run.models.spec_for()
        if not cases and spec:
            models.append(self.run.models.resolve(spec))
        try:
            self.run.output.open(self.run.header(models, self.suites))
        except LLMTestError as exc:
            raise pytest.UsageError(f"--llm-results: {exc}") from None

    def record(self, outcome: CaseOutcome) -> None:
        self._output().record(outcome.results)

    def record_python_test(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        """A plain test's record (see :mod:`pytest_llmtest.python_tests`), once per test."""
        from pytest_llmtest.python_tests import python_test_record, record_properties

        made = python_test_record(item, call, report, self.run.run_id)
        if made is not None:
            record, exchanges = made
            record_properties(report, record, exchanges)
            self._output().record([record])

    def record_skip(self, case: Case) -> None:
        """A ``skip:`` case's record, as ``llmtest run`` writes it."""
        self._output().record([self.run.skip_record(case)])

    def _output(self) -> ResultsOutput:
        """The results file; an xdist worker opens it to append below the controller's
        header."""
        output = self.run.output
        if output.writer is None and output.path is not None:
            output.open(None, claim=False)
        return output

    def submit(self, nodeid: str, case: Case) -> concurrent.futures.Future[Execution] | None:
        """Start the case's model calls unless they are already under way."""
        self.submit_many([(nodeid, case)])
        return self.futures.get(nodeid)

    def submit_many(self, items: Iterable[tuple[str, Case]]) -> None:
        """``submit`` for many items at once (one wake-up of the engine's loop). An item
        whose model cannot be resolved is left alone: its setup reports the error."""
        nodeids: dict[str, None] = {}
        jobs: list[Job] = []
        for nodeid, case in items:
            if nodeid in self.futures or nodeid in nodeids:
                continue
            try:
                model = self.model_for(case)
            except ConfigError:
                continue
            nodeids[nodeid] = None
            jobs.append(Job(case, model))
        if jobs:
            self.futures.update(zip(nodeids, self.run.submit(jobs), strict=True))

    def finish(self, *, controller: bool) -> None:
        """Stop the engine, close the results file; the controller records the history
        (from the file, so that every xdist worker's records are included)."""
        try:
            self.run.close()
        except LLMTestError as exc:
            print(f"llmtest: {exc}", file=sys.stderr)
        warnings = self.run.warnings()
        if controller:
            warnings.append(self.run.output.store_history() or "")
        for warning in filter(None, warnings):
            print(f"llmtest: warning: {warning}", file=sys.stderr)


session_key = pytest.StashKey[LLMSession]()


def llm_session(config: pytest.Config) -> LLMSession:
    """The session's llmtest state, made the first time llmtest is needed (a case file
    collected, the ``llm`` fixture used, an ``--llm-`` option given): a project without
    case files pays nothing for it."""
    state = config.stash.get(session_key, None)
    if state is None:
        state = config.stash[session_key] = LLMSession(config)
        from pytest_llmtest.redaction import ReportRedaction

        config.pluginmanager.register(ReportRedaction(), "llmtest-redaction")
    return state
