"""How the front ends put the cache and the cassette recorder around each model's adapter.

The order, outermost first::

    RecordingAdapter → CachingAdapter → the real adapter

The recorder is outermost so that it sees every answer the engine gets, from the model
or from the cache alike: a cassette folder recorded on a warm cache is still complete.
The cache sits closest to the model because all it saves is the provider call. The
outermost layer numbers each call's attempt (:func:`.stored.claim_attempt`) and the
layers inside see that number: both keep attempt n of a case apart from attempt 0, so a
repeat is never answered with another attempt's answer, from the cache or a cassette.
``replay`` and ``echo`` answers are never cached (they cost nothing), and a ``replay``
model is not recorded into the very folder it replays from.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llmtest.adapters.base import Adapter
from llmtest.adapters.layers.cache import (
    CACHE_MODES,
    DEFAULT_CACHE_FOLDER,
    CachingAdapter,
    ResponseCache,
)
from llmtest.adapters.layers.cassettes import CassetteRecorder, RecordingAdapter, cassette_folder
from llmtest.config.project import ModelConfig
from llmtest.errors import ConfigError

_UNCACHED_ADAPTERS = frozenset({"replay", "echo"})

Wrapper = Callable[[Adapter, ModelConfig], Adapter]
"""What :class:`~llmtest.engine.engine.Engine` takes as ``wrap_adapter``; :class:`Layers` is one."""


class Layers:
    """A ``wrap_adapter`` for :class:`~llmtest.engine.engine.Engine`; keeps the cache and the
    recorder at hand so a front end can report hits and recorded cassettes at the end."""

    def __init__(
        self,
        *,
        cache: ResponseCache | None,
        cache_mode: str,
        recorder: CassetteRecorder | None,
    ) -> None:
        if cache_mode not in CACHE_MODES:
            raise ConfigError(f"cache mode must be auto, on or off, got {cache_mode!r}")
        self.cache = cache if cache_mode != "off" else None
        self.cache_mode = cache_mode
        self.recorder = recorder

    def __call__(self, adapter: Adapter, model: ModelConfig) -> Adapter:
        if self.cache is not None and model.adapter not in _UNCACHED_ADAPTERS:
            adapter = CachingAdapter(adapter, model, self.cache, mode=self.cache_mode)
        if self.recorder is not None and not _replays_from(model, self.recorder):
            adapter = RecordingAdapter(adapter, model, self.recorder)
        return adapter


def wrap_layers(
    *,
    cache: ResponseCache | None,
    cache_mode: str,
    recorder: CassetteRecorder | None,
) -> Layers:
    """The layers asked for, in the documented order, as an engine's ``wrap_adapter``."""
    return Layers(cache=cache, cache_mode=cache_mode, recorder=recorder)


def build_layers(
    *,
    cache_mode: str,
    record: str | Path | None,
    root: str | Path | None = None,
    cache_folder: str | Path = DEFAULT_CACHE_FOLDER,
) -> Layers:
    """The layers from the front ends' options (``--llm-cache``, ``--llm-record``).

    Relative folders are found from ``root`` (the project folder), as ``replay:FOLDER``
    is, so ``--record cassettes/`` and ``replay:cassettes/`` name the same folder from
    anywhere in the project.
    """
    base = Path(root) if root is not None else Path()
    cache = ResponseCache(base / cache_folder) if cache_mode != "off" else None
    recorder = CassetteRecorder(base / Path(record).expanduser()) if record else None
    return wrap_layers(cache=cache, cache_mode=cache_mode, recorder=recorder)


def _replays_from(model: ModelConfig, recorder: CassetteRecorder) -> bool:
    """Whether ``model`` replays the very folder being recorded (nothing new to record)."""
    if model.adapter != "replay" or not model.model:
        return False
    return cassette_folder(model).resolve() == recorder.folder.resolve()
