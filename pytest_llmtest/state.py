"""State for the whole pytest session: the engine, the resolved models, the answers."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import sys
from collections.abc import Iterable
from typing import Any

import pytest

from llmtest.adapters.layers import build_layers
from llmtest.adapters.resolver import ModelResolver
from llmtest.cases.model import Case
from llmtest.config import options
from llmtest.config.options import Shard
from llmtest.config.project import ModelConfig, ProjectConfig, load_project_config
from llmtest.engine.engine import Engine, Execution, Job
from llmtest.engine.evaluation import CaseOutcome
from llmtest.errors import ConfigError, LLMTestError
from llmtest.results.history import History
from llmtest.results.jsonl import ResultWriter, RunHeader, git_sha, header_model, new_run_id
from llmtest.results.record import skip_record

NO_MODEL = (
    "no model configured: pass --llm-model SPEC (e.g. echo: or openai:gpt-4o-mini), "
    "set 'model:' in the case file, or set llmtest_model / [tool.llmtest] model"
)


class LLMSession:
    """Everything llmtest keeps per pytest session (stored in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        try:
            self.project: ProjectConfig = load_project_config(config.rootpath)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.cli_model: str | None = config.getoption("llm_model")
        self.default_model: str | None = (
            config.getini("llmtest_model") or self.project.default_model or None
        )
        self.concurrency: int = self._option("concurrency")
        self.timeout: float | None = self._option("timeout")
        self.max_retries: int | None = self._option("max-retries")
        self.results_path: str | None = self._option("results")
        self.shard: Shard | None = self._option("shard")
        self.repeat: int | None = self._option("repeat")
        self.cache_mode: str = self._option("cache")
        self.record_dir: str | None = self._option("record")
        workerinput = getattr(config, "workerinput", {})
        self.run_id: str = workerinput.get("llmtest_run_id") or new_run_id()
        self.writer: ResultWriter | None = None
        self.replaced_results = False
        """Whether this session's header replaced an earlier run in the results file."""
        self.suites: dict[str, str] = {}
        self.engine: Engine | None = None
        self.futures: dict[str, concurrent.futures.Future[Execution]] = {}
        self.outcomes: dict[str, CaseOutcome] = {}
        self.model = ModelResolver(
            self.project, timeout_s=self.timeout, max_retries=self.max_retries
        )
        self.registered_markers: set[str] = set()
        if self.cli_model is not None:
            try:
                self.model(self.cli_model)
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

    def model_spec_for(self, case: Case) -> str | None:
        return self.cli_model or case.model or self.default_model

    def model_for(self, case: Case) -> ModelConfig:
        spec = self.model_spec_for(case)
        if spec is None:
            raise ConfigError(NO_MODEL)
        return self.model(spec)

    def start_engine(self) -> Engine:
        if self.engine is None:
            self.engine = Engine(
                concurrency=self.concurrency,
                wrap_adapter=build_layers(
                    cache_mode=self.cache_mode, record=self.record_dir, root=self.config.rootpath
                ),
            )
            self.engine.start()
        return self.engine

    def write_header(self, suites: dict[str, str], cases: list[Case]) -> None:
        """The results file's first line: written once, by the process that starts the run."""
        if self.results_path is None:
            return
        models = []
        for case in cases:
            with contextlib.suppress(ConfigError):
                models.append(self.model_for(case))
        if not cases and (self.cli_model or self.default_model):
            models.append(self.model(self.cli_model or self.default_model or ""))
        header = RunHeader(
            run_id=self.run_id,
            model=header_model(models),
            suites=suites,
            git_sha=git_sha(self.config.rootpath),
        )
        writer = self._writer()
        writer.write_header(header)
        self.replaced_results = writer.replaced

    def record(self, outcome: CaseOutcome) -> None:
        if self.results_path is not None:
            writer = self._writer()
            for result in outcome.results:
                writer.write(dataclasses.replace(result, run_id=self.run_id))

    def record_skip(self, case: Case) -> None:
        """A ``skip:`` case's record, as ``llmtest run`` writes it."""
        if self.results_path is not None:
            model = None
            with contextlib.suppress(ConfigError):
                model = self.model_for(case)
            self._writer().write(skip_record(case, model, self.run_id))

    def record_history(self) -> None:
        """Store the run in the SQLite history (with --llm-results, read back from it, so
        the records of every xdist worker are included)."""
        assert self.results_path is not None
        path = self.config.rootpath / self._option("history")
        try:
            History(path).import_file(self.config.rootpath / self.results_path)
        except (LLMTestError, OSError) as exc:
            print(f"llmtest: could not record the run in {path}: {exc}", file=sys.stderr)

    def _writer(self) -> ResultWriter:
        if self.writer is None:
            assert self.results_path is not None
            self.writer = ResultWriter(self.config.rootpath / self.results_path)
        return self.writer

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
            futures = self.start_engine().submit_many(jobs)
            self.futures.update(zip(nodeids, futures, strict=True))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None


session_key = pytest.StashKey[LLMSession]()
