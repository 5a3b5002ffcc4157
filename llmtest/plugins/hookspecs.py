"""Hook specifications: how built-in and third-party plugins add adapters and assertions.

Built-ins register through these same hooks; there is no private path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from llmtest.adapters.base import Adapter
    from llmtest.assertions.base import AssertionType
    from llmtest.config.project import ModelConfig

hookspec = pluggy.HookspecMarker("llmtest")
hookimpl = pluggy.HookimplMarker("llmtest")

AdapterFactory = Callable[["ModelConfig"], "Adapter"]


@hookspec
def llmtest_adapters() -> Mapping[str, AdapterFactory]:  # type: ignore[empty-body]
    """Return adapter factories by name (the part of a spec string before the colon).

    Called once, when the first model is resolved. A factory receives the model's
    :class:`~llmtest.config.project.ModelConfig` and returns an object with an async
    ``complete(request)`` and ``aclose()``. Import provider SDKs inside the factory, not at
    module level, so that collecting tests stays fast.
    """


@hookspec
def llmtest_assertions() -> Sequence[AssertionType]:  # type: ignore[empty-body]
    """Return assertion declarations; their names are what case files write under ``assert``.

    Each is what :func:`llmtest.assertions.assertion` makes of a factory: the name, the
    argument schema, what the score measures and the check, from which the loader, the CSV
    reader and the Python ``assert_*`` helper are derived. A hand-built
    :class:`~llmtest.assertions.base.AssertionType` (name, build, summary) is accepted too.
    A plugin's name wins over a built-in of the same name. Called once, when the first case
    file is loaded or the first results are scored.
    """
