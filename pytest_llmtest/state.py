"""State for the whole pytest session: the engine, the resolved models, the answers."""

from __future__ import annotations

import concurrent.futures
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from llmtest import options
from llmtest.cases.model import Case
from llmtest.config import ModelConfig, ProjectConfig, load_project_config
from llmtest.engine import Engine, Execution
from llmtest.errors import ConfigError
from llmtest.evaluation import CaseOutcome
from llmtest.plugins import adapter_factory

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
        self.engine: Engine | None = None
        self.futures: dict[str, concurrent.futures.Future[Execution]] = {}
        self.outcomes: dict[str, CaseOutcome] = {}
        self._models: dict[str, ModelConfig] = {}
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

    def model(self, spec: str) -> ModelConfig:
        """Resolve a spec or alias once; command-line timeouts and retries apply to all."""
        if spec not in self._models:
            model = self.project.resolve_model(spec)
            adapter_factory(model.adapter)
            if self.timeout is not None:
                model = dataclasses.replace(model, timeout_s=self.timeout)
            if self.max_retries is not None:
                model = dataclasses.replace(model, max_retries=self.max_retries)
            self._models[spec] = model
        return self._models[spec]

    def model_spec_for(self, case: Case) -> str | None:
        return self.cli_model or case.model or self.default_model

    def model_for(self, case: Case) -> ModelConfig:
        spec = self.model_spec_for(case)
        if spec is None:
            raise ConfigError(NO_MODEL)
        return self.model(spec)

    def start_engine(self) -> Engine:
        if self.engine is None:
            self.engine = Engine(concurrency=self.concurrency)
            self.engine.start()
        return self.engine

    def submit(self, nodeid: str, case: Case) -> concurrent.futures.Future[Execution] | None:
        """Start the case's model calls unless they are already under way."""
        future = self.futures.get(nodeid)
        if future is None:
            try:
                model = self.model_for(case)
            except ConfigError:
                return None
            future = self.start_engine().submit(case, model)
            self.futures[nodeid] = future
        return future

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def project_root(self) -> Path:
        return self.config.rootpath


session_key = pytest.StashKey[LLMSession]()
