"""``llmtest.connect``: a configured model, callable from any Python code.

The same aliases, adapters, retries, timeouts and rate limits as the suites, for the code
around them: a script that tries a prompt, a fixture that builds test data, or the
application under test itself when it should run on whatever model the suite names
(``examples/support_bot`` does this to answer on the built-in local model by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from llmtest.adapters.base import Message, Response, build_messages
from llmtest.adapters.resolver import ModelResolver
from llmtest.config.project import ModelConfig, load_project_config
from llmtest.engine.engine import Engine
from llmtest.errors import ConfigError


class ModelClient:
    """One model, called synchronously (``complete``) or from async code (``acomplete``).

    Calls run on an llmtest engine's loop in a background thread, so a client can be
    shared by threads and used from inside another event loop. A failed call raises
    :class:`~llmtest.errors.ModelCallError` with the provider's message, after the
    model's retries.
    """

    def __init__(self, engine: Engine, model: ModelConfig, *, owns_engine: bool = False) -> None:
        self.model = model
        self._engine = engine
        self._owns_engine = owns_engine

    def complete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        """The model's answer to a prompt string or a list of chat messages."""
        messages = build_messages(prompt, system or self.model.system)
        return self._engine.complete(self.model, messages, params)

    async def acomplete(
        self, prompt: str | Sequence[Message], *, system: str | None = None, **params: Any
    ) -> Response:
        """``complete`` for async code: awaits without blocking the caller's loop."""
        messages = build_messages(prompt, system or self.model.system)
        future = self._engine.call(self.model, messages, params)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the engine this client started (a no-op for a shared one)."""
        if self._owns_engine:
            self._engine.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<llmtest model {self.model.name}>"


def connect(
    model: str | None = None, *, project: str | Path | None = None, concurrency: int = 16
) -> ModelClient:
    """A client for ``model``: a spec string (``openai:gpt-4o-mini``, ``local:``) or an
    alias from ``[tool.llmtest.models]`` of the nearest pyproject.toml at or above
    ``project`` (default: the working directory). Without ``model``, the project's
    ``[tool.llmtest] model``.
    """
    config = load_project_config(Path(project) if project is not None else Path.cwd())
    spec = model or config.default_model
    if not spec:
        where = f"in {config.path}" if config.path else "(no pyproject.toml found)"
        raise ConfigError(
            f"connect() needs a model: pass one such as 'openai:gpt-4o-mini', or set "
            f"[tool.llmtest] model {where}"
        )
    resolved = ModelResolver(config)(spec)
    return ModelClient(Engine(concurrency=concurrency), resolved, owns_engine=True)
