"""What a run was asked to do, and the one rule for which model a case runs on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmtest.adapters.resolver import ModelResolver
from llmtest.cases.model import Case
from llmtest.config.options import OPTIONS_BY_NAME, Shard
from llmtest.config.project import ModelConfig, ProjectConfig
from llmtest.errors import ConfigError


@dataclass(frozen=True)
class RunSettings:
    """What a run was asked to do: the shared options (``llmtest/config/options.py``) as
    either front end resolved them. ``root`` is the project folder (the cache and cassette
    folders, the git commit); relative paths of files are taken from ``base``."""

    root: Path
    base: Path | None = None
    """Where relative results and history paths start: pytest's rootdir; None for the
    current folder (``llmtest run``: paths as the shell user typed them)."""
    model: str | None = None
    """The command line's model: it overrides every case's own."""
    default_model: str | None = None
    """The model of a case that names none (``llmtest_model`` / ``[tool.llmtest] model``)."""
    concurrency: int = OPTIONS_BY_NAME["concurrency"].default
    timeout: float | None = None
    max_retries: int | None = None
    results: Path | None = None
    shard: Shard | None = None
    cache: str = OPTIONS_BY_NAME["cache"].default
    record: str | None = None
    repeat: int | None = None
    history: Path | None = Path(OPTIONS_BY_NAME["history"].default)
    """None: the run is not recorded in the history."""
    model_flag: str = "--model"
    """How the front end spells the model option, for messages."""
    model_setting: str = "[tool.llmtest] model"
    """How the front end's configuration names the default model, for messages."""

    @classmethod
    def from_options(cls, root: Path, value: Callable[[str], Any], **fixed: Any) -> RunSettings:
        """Settings from ``value(name)``, the front end's resolved value of each shared
        option by its name in the table; ``fixed`` overrides or adds the rest."""
        names = ("concurrency", "timeout", "max-retries", "shard", "cache", "record", "repeat")
        read: dict[str, Any] = {name.replace("-", "_"): value(name) for name in names}
        read = {k: v for k, v in read.items() if v is not None}
        results, history = value("results"), value("history")
        read.update(
            model=value("model"),
            results=Path(results) if results else None,
            history=Path(history) if history else None,
        )
        return cls(root=root, **{**read, **fixed})

    def path(self, relative: Path | str) -> Path:
        return self.base / relative if self.base is not None else Path(relative)


class ModelChoice:
    """Which model a case runs on, one rule for every front end: the command line's, else
    the case file's, else the project's default. Each spec is resolved (and its adapter
    checked) once."""

    def __init__(self, project: ProjectConfig, settings: RunSettings) -> None:
        self.settings = settings
        self.default = settings.default_model or project.default_model
        self.resolve = ModelResolver(
            project, timeout_s=settings.timeout, max_retries=settings.max_retries
        )

    def spec_for(self, case: Case | None = None) -> str | None:
        return self.settings.model or (case.model if case else None) or self.default

    def for_case(self, case: Case) -> ModelConfig:
        spec = self.spec_for(case)
        if spec is None:
            raise ConfigError(self.no_model_message())
        return self.resolve(spec)

    def no_model_message(self, *, for_cases: bool = True) -> str:
        flag = self.settings.model_flag
        in_file = "set 'model:' in the case file, " if for_cases else ""
        return (
            f"no model configured: pass {flag} SPEC (e.g. echo: or openai:gpt-4o-mini), "
            f"{in_file}or set {self.settings.model_setting}"
        )
