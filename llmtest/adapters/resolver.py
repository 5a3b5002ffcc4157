"""From a model's name to its checked config: the one place where the project's aliases
meet the installed adapters."""

from __future__ import annotations

from dataclasses import replace

from llmtest.adapters.base import CheckingFactory
from llmtest.config.project import ModelConfig, ProjectConfig, model_from_table
from llmtest.config.secrets import register_secret
from llmtest.errors import ConfigError
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
        # Every alias's credentials, not only the resolved ones': a model may echo another
        # alias's key (a gateway's, a shared env), and that key is as secret.
        for alias, table in project.models.items():
            try:
                config = model_from_table(alias, table, where=alias)
            except ConfigError:
                continue  # its error comes when, and if, the alias is used
            for secret in config.secrets():
                register_secret(secret)

    def __call__(self, spec: str) -> ModelConfig:
        if spec not in self._models:
            model = self.project.resolve_model(spec, adapter_factories())
            for secret in model.secrets():  # masked in every output from now on
                register_secret(secret)
            # An adapter may say what is wrong with a config before any call is made.
            factory = adapter_factory(model.adapter)
            if isinstance(factory, CheckingFactory):
                factory.check_config(model)
            if self.timeout_s is not None:
                model = replace(model, timeout_s=self.timeout_s)
            if self.max_retries is not None:
                model = replace(model, max_retries=self.max_retries)
            self._models[spec] = model
        return self._models[spec]
