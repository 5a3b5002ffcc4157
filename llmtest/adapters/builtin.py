"""Registers the built-in adapters through the same hook third parties use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from llmtest.adapters.base import Adapter, CheckingFactory
from llmtest.config.project import ModelConfig
from llmtest.plugins.hookspecs import AdapterFactory, hookimpl

_BUILTIN = {
    "openai": "llmtest.adapters.openai:OpenAIAdapter",
    "anthropic": "llmtest.adapters.anthropic:AnthropicAdapter",
    "callable": "llmtest.adapters.callable:CallableAdapter",
    "echo": "llmtest.adapters.echo:EchoAdapter",
    "replay": "llmtest.adapters.replay:ReplayAdapter",
    "local": "llmtest.adapters.local:LocalAdapter",
}


class _Lazy:
    """A factory that imports its adapter's module only when it is needed (the modules
    import no SDK themselves: that waits for the first call)."""

    def __init__(self, target: str) -> None:
        self.module_name, _, self.class_name = target.partition(":")

    def _class(self) -> Any:
        return getattr(importlib.import_module(self.module_name), self.class_name)

    def __call__(self, config: ModelConfig) -> Adapter:
        adapter: Adapter = self._class()(config)
        return adapter

    def check_config(self, config: ModelConfig) -> None:
        adapter_class = self._class()
        if isinstance(adapter_class, CheckingFactory):
            adapter_class.check_config(config)


@hookimpl
def llmtest_adapters() -> Mapping[str, AdapterFactory]:
    return {name: _Lazy(target) for name, target in _BUILTIN.items()}
