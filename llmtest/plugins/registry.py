"""The plugin manager: built-ins, then entry points, then registries of names."""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

import pluggy

from llmtest.errors import ConfigError
from llmtest.plugins import hookspecs
from llmtest.plugins.hookspecs import AdapterFactory

if TYPE_CHECKING:
    from llmtest.assertions.base import AssertionType

ENTRY_POINT_GROUPS = ("llmtest.adapters", "llmtest.assertions")
_BUILTIN_PLUGINS = ("llmtest.adapters.builtin", "llmtest.assertions.builtin")


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("llmtest")
    pm.add_hookspecs(hookspecs)
    for name in _BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    for group in ENTRY_POINT_GROUPS:
        pm.load_setuptools_entrypoints(group)
    # A hook implementation whose name matches no specification (a misspelled hook) would
    # otherwise be ignored in silence.
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        hook = str(exc).split(" in plugin ")[0]
        raise ConfigError(f"llmtest plugin {name!r}: {hook} (no such hook in llmtest)") from None
    return pm


@functools.cache
def adapter_factories() -> dict[str, AdapterFactory]:
    factories: dict[str, AdapterFactory] = {}
    # pluggy calls the last registered plugin first: reverse so third parties override.
    for mapping in reversed(plugin_manager().hook.llmtest_adapters()):
        factories.update(mapping)
    return factories


@functools.cache
def assertion_types() -> dict[str, AssertionType]:
    """Every installed assertion type by name; a plugin's wins over a built-in's."""
    from llmtest.assertions.base import AssertionType
    from llmtest.assertions.excerpt import short_repr

    types: dict[str, AssertionType] = {}
    # pluggy calls the last registered plugin first: reverse so third parties override.
    for group in reversed(plugin_manager().hook.llmtest_assertions()):
        for declared in group:
            if not isinstance(declared, AssertionType):
                module = getattr(declared, "__module__", None) or type(declared).__module__
                raise ConfigError(
                    f"llmtest plugin module {module!r}: llmtest_assertions() returned "
                    f"{short_repr(declared)}, not an assertion type "
                    "(declare one with llmtest.assertions.assertion)"
                )
            types[declared.name] = declared
    return types


def adapter_factory(name: str) -> AdapterFactory:
    factories = adapter_factories()
    if name not in factories:
        known = ", ".join(sorted(factories))
        raise ConfigError(f"unknown adapter {name!r}; installed adapters: {known}")
    return factories[name]


def reset() -> None:
    """Forget registries, e.g. after a test installs a plugin."""
    for cached in (plugin_manager, adapter_factories, assertion_types):
        cached.cache_clear()
