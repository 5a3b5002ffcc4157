"""From a model's name to its checked config: the one place where the project's aliases
meet the installed adapters."""

from __future__ import annotations

from dataclasses import replace

from llmtest.config.project import ModelConfig, ProjectConfig
from llmtest.plugins.registry import adapter_factories, adapter_factory


class ModelResolver:
    """Specs and aliases to ModelConfigs, once each, with run-wide overrides applied and the
    adapter known to exist: what both front ends do before any call."""

    def __init__(
        self,
        project: ProjectConfig,
        *,
        timeout_s: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.project = project
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._models: dict[str, ModelConfig] = {}

    def __call__(self, spec: str) -> ModelConfig:
        if spec not in self._models:
            model = self.project.resolve_model(spec, adapter_factories())
            # An adapter may say what is wrong with a config before any call is made.
            check = getattr(adapter_factory(model.adapter), "check_config", None)
            if check is not None:
                check(model)
            if self.timeout_s is not None:
                model = replace(model, timeout_s=self.timeout_s)
            if self.max_retries is not None:
                model = replace(model, max_retries=self.max_retries)
            self._models[spec] = model
        return self._models[spec]
