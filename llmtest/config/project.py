"""Model configuration: spec strings, aliases in ``[tool.llmtest.models]``, defaults."""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmtest.config.secrets import is_secret_name, masked_settings, masked_url, url_secrets
from llmtest.errors import ConfigError

_MODEL_FIELDS = {
    "adapter",
    "model",
    "base_url",
    "params",
    "system",
    "api_key_env",
    "timeout_s",
    "max_retries",
    "requests_per_minute",
    "tokens_per_minute",
}
GENERATION_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ModelConfig:
    """Everything an adapter needs to talk to one model; picklable, so xdist can ship it.

    ``root`` is the project folder (where pyproject.toml is): relative paths and the user's
    own modules are found from there. ``options`` holds adapter-specific settings
    (``input`` for callables, ``model_path`` for local models, prices, …). API keys are
    never stored here: adapters read them from the environment variable ``api_key_env``
    names, or the SDK's own default.
    """

    name: str
    adapter: str
    model: str = ""
    base_url: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    options: Mapping[str, Any] = field(default_factory=dict)
    root: str | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None

    def redacted(self) -> dict[str, Any]:
        """The config as a plain dict fit for results and reports: no secret values."""
        data: dict[str, Any] = {
            "name": self.name,
            "adapter": self.adapter,
            "model": self.model,
            "base_url": masked_url(self.base_url) if self.base_url else self.base_url,
            "params": dict(self.params),
        }
        data.update(masked_settings(self.options))
        return data

    def secrets(self) -> list[str]:
        """The secret values this config carries or names: the variable ``api_key_env``
        names, secret options, secrets inside ``base_url``, and every header value that
        comes from the environment (whatever the header is called)."""
        found = [os.environ.get(self.api_key_env, "")] if self.api_key_env else []
        found += _secret_values(self.options)
        found += url_secrets(self.base_url) if self.base_url else []
        found += self._header_secrets()
        return [value for value in found if value]

    def headers(self) -> dict[str, str]:
        """The ``headers`` table with each ``${NAME}`` replaced by that environment
        variable, so a gateway's key need not be written in pyproject.toml."""
        table = self.options.get("headers") or {}
        where = f"[tool.llmtest.models.{self.name}] headers"
        if not isinstance(table, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()
        ):
            raise ConfigError(f'{where}: expected a table of strings, as {{ X-Team = "qa" }}')

        def expand(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1))
            if value is None:
                raise ConfigError(f"{where}: {match.group(0)} is not set; export it")
            return value

        return {name: _ENV_REFERENCE.sub(expand, value) for name, value in table.items()}

    def _header_secrets(self) -> list[str]:
        """Every environment variable the headers refer to, and the whole value of a
        header whose name says it is secret (``Authorization: Bearer ${TOKEN}``)."""
        table = self.options.get("headers")
        if not isinstance(table, Mapping):
            return []
        found = [
            os.environ.get(m.group(1), "")
            for value in table.values()
            if isinstance(value, str)
            for m in _ENV_REFERENCE.finditer(value)
        ]
        with contextlib.suppress(ConfigError):
            found += [v for k, v in self.headers().items() if is_secret_name(k)]
        return found


def _secret_values(settings: Mapping[str, Any]) -> list[str]:
    """Secret-named string settings at any depth; the headers table has its own rule."""
    found: list[str] = []
    for key, value in settings.items():
        if key == "headers":
            continue
        if isinstance(value, Mapping):
            found += _secret_values(value)
        elif is_secret_name(str(key)) and isinstance(value, str):
            found.append(value)
    return found


def model_label(name: str) -> str:
    """A model's name as messages show it: ``echo`` for the spec ``echo:``, so that a
    message reads ``echo: no answer`` rather than ``echo:: no answer``."""
    return name[:-1] if name.endswith(":") and name.count(":") == 1 else name


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.llmtest]`` table of the nearest pyproject.toml."""

    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_model: str | None = None
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def resolve_model(self, spec: str, adapters: Collection[str]) -> ModelConfig:
        """An alias from ``[tool.llmtest.models]``, a spec string like ``openai:gpt-4o``, or
        the bare name of one of ``adapters`` (the installed ones)."""
        root = str(self.path.parent) if self.path else None
        if spec in self.models:
            aliased = model_from_table(spec, self.models[spec], where=self._where(spec))
            return replace(aliased, root=root)
        if ":" not in spec and spec in adapters:
            # A bare adapter name, as `--llm-model local` or `echo`, is the spec `local:`:
            # one name in results, history and merges, whichever way it was written.
            return ModelConfig(name=f"{spec}:", adapter=spec, model="", root=root)
        if ":" not in spec:
            known = ", ".join(sorted(self.models)) or "none defined"
            adapters = ", ".join(sorted(adapters))
            raise ConfigError(
                f"unknown model {spec!r}: not an alias in [tool.llmtest.models] ({known}), "
                f"not an adapter ({adapters}) and not a spec string such as "
                "'openai:gpt-4o-mini'"
            )
        adapter, _, model = spec.partition(":")
        return ModelConfig(name=spec, adapter=adapter, model=model, root=root)

    def _where(self, alias: str) -> str:
        return f"{self.path}: [tool.llmtest.models.{alias}]" if self.path else alias


def model_from_table(name: str, table: Mapping[str, Any], *, where: str) -> ModelConfig:
    """Build a ModelConfig from an alias table, checking the types a user can get wrong."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    adapter = table.get("adapter")
    model = table.get("model", "")
    if not isinstance(adapter, str) or not adapter:
        if isinstance(model, str) and ":" in model:
            adapter, _, model = model.partition(":")
        else:
            raise ConfigError(f"{where}: 'adapter' is required (e.g. adapter = \"openai\")")
    if not isinstance(model, str):
        raise ConfigError(f"{where}: 'model' must be a string, got {model!r}")
    params = dict(table.get("params", {}) or {})
    params.update({k: table[k] for k in GENERATION_PARAMS if k in table})
    number: tuple[type, ...] = (int, float)
    limits: list[tuple[str, tuple[type, ...]]] = [
        ("timeout_s", number),
        ("max_retries", (int,)),
        ("requests_per_minute", number),
        ("tokens_per_minute", number),
    ]
    for key, kind in limits:
        if key in table and not isinstance(table[key], kind):
            raise ConfigError(f"{where}: {key!r} must be a number, got {table[key]!r}")
    options = {
        k: v for k, v in table.items() if k not in _MODEL_FIELDS and k not in GENERATION_PARAMS
    }
    return ModelConfig(
        name=name,
        adapter=adapter,
        model=model,
        base_url=table.get("base_url"),
        params=params,
        system=table.get("system"),
        api_key_env=table.get("api_key_env"),
        timeout_s=float(table.get("timeout_s", 60.0)),
        max_retries=int(table.get("max_retries", 2)),
        options=options,
        requests_per_minute=table.get("requests_per_minute"),
        tokens_per_minute=table.get("tokens_per_minute"),
    )


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_project_config(start: Path) -> ProjectConfig:
    """Read ``[tool.llmtest]`` from the nearest pyproject.toml at or above ``start``."""
    path = find_pyproject(start)
    if path is None:
        return ProjectConfig()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("llmtest", {})
    models = table.get("models", {})
    if not isinstance(models, Mapping):
        raise ConfigError(f"{path}: [tool.llmtest.models] must be a table of aliases")
    default = table.get("model")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{path}: [tool.llmtest] model must be a string, got {default!r}")
    return ProjectConfig(models=models, default_model=default, path=path, raw=table)
