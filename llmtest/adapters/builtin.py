"""Registers the built-in adapters through the same hook third parties use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from llmtest.adapters.base import Adapter
from llmtest.config import ModelConfig
from llmtest.hookspecs import AdapterFactory, hookimpl

_BUILTIN = {
    "openai": "llmtest.adapters.openai:OpenAIAdapter",
    "anthropic": "llmtest.adapters.anthropic:AnthropicAdapter",
    "callable": "llmtest.adapters.callable:CallableAdapter",
    "echo": "llmtest.adapters.echo:EchoAdapter",
    "replay": "llmtest.adapters.replay:ReplayAdapter",
    "local": "llmtest.adapters.local:LocalAdapter",
}


def _lazy(target: str) -> AdapterFactory:
    """A factory that imports its module (and so its SDK) only when a model is built."""
    module_name, _, class_name = target.partition(":")

    def factory(config: ModelConfig) -> Adapter:
        cls = getattr(importlib.import_module(module_name), class_name)
        adapter: Adapter = cls(config)
        return adapter

    return factory


@hookimpl
def llmtest_adapters() -> Mapping[str, AdapterFactory]:
    return {name: _lazy(target) for name, target in _BUILTIN.items()}
