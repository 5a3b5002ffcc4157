"""Options shared by both front ends: ``pytest --llm-X`` and ``llmtest run --X`` mean the same.

Each option has a command-line flag and an ini/pyproject twin, one parser and one default,
so the two front ends cannot drift apart.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmtest.errors import ConfigError


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: a stable split by suite and case id, so each
    CI machine runs the same cases every time."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            raise ConfigError(f"shard must look like K/N (e.g. 2/4), got {text!r}") from None
        if not sep or not 1 <= shard.index <= shard.count:
            raise ConfigError(f"shard must look like K/N with 1 <= K <= N, got {text!r}")
        return shard

    def holds(self, suite: str, case_id: str) -> bool:
        """Whether the case ``suite::case_id`` is this shard's."""
        digest = hashlib.sha256(f"{suite}::{case_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


DEFAULT_HISTORY = ".llmtest/history.sqlite"
"""Where the run history is kept, from the project folder (pytest) or the current one."""


def positive_int(text: str) -> int:
    """A count of at least 1 (``--concurrency``, ``--repeat``, ``--max-cases``, ``--last``)."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise ConfigError(f"expected a number of at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = positive_int("1" if text == "0" else text)
    return 0 if text == "0" else value


def positive_float(text: str) -> float:
    """A finite number above 0 (``--timeout``): ``nan`` and ``inf`` parse as floats but
    would make every comparison with them false, or wait for ever."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"expected a finite number above 0, got {text!r}")
    return value


MAX_REPEAT = 1000
"""The most attempts of one case, on the command line as in case files (the schema's
``repeat`` maximum)."""


def repeat_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_REPEAT:
        raise ConfigError(f"expected at most {MAX_REPEAT} attempts per case, got {value}")
    return value


def argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse (and pytest's parser): a bad value is a usage error."""

    def parse_argument(text: str) -> Any:
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse_argument


@dataclass(frozen=True)
class Option:
    """``name`` is the CLI flag without dashes; pytest prefixes it with ``llm-``."""

    name: str
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None
    metavar: str | None = None

    def argparse_type(self, text: str) -> Any:
        return argparse_type(self.parse)(text)

    @property
    def pytest_flag(self) -> str:
        return f"--llm-{self.name}"

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return "llm_" + self.name.replace("-", "_")

    @property
    def ini(self) -> str:
        return "llmtest_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "model",
        "model to run the cases against: an alias from [tool.llmtest.models] or a spec such as "
        "openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, callable:pkg.mod:fn, echo: "
        "(overrides the suite's own model)",
        metavar="SPEC",
    ),
    Option(
        "concurrency",
        "how many model calls may be in flight at once (default 16)",
        positive_int,
        16,
        "N",
    ),
    Option(
        "timeout",
        "seconds to wait for one model answer before retrying (default: the model's timeout_s, 60)",
        positive_float,
        None,
        "SECONDS",
    ),
    Option(
        "max-retries",
        "retries of a call that failed with 429, 5xx, a timeout or a dropped connection "
        "(default: the model's max_retries, 2)",
        non_negative_int,
        None,
        "N",
    ),
)


def cache_mode(text: str) -> str:
    if text not in ("auto", "on", "off"):
        raise ConfigError(f"expected auto, on or off, got {text!r}")
    return text


def shard(text: str) -> Shard:
    return Shard.parse(text)


OPTIONS += (
    Option(
        "results",
        "append every case record to this JSONL results file as it finishes",
        str,
        None,
        "PATH",
    ),
    Option(
        "shard",
        "run only shard K of N (a stable split by case id, for CI matrices)",
        shard,
        None,
        "K/N",
    ),
    Option(
        "cache",
        "answer identical requests from the on-disk cache: auto (only at temperature 0), "
        "on, or off (default auto)",
        cache_mode,
        "auto",
        "MODE",
    ),
    Option(
        "record",
        "store every request/response pair in this cassette folder (replay them with the "
        "model replay:FOLDER)",
        str,
        None,
        "DIR",
    ),
    Option(
        "history",
        f"SQLite database that keeps every run (default {DEFAULT_HISTORY})",
        str,
        DEFAULT_HISTORY,
        "PATH",
    ),
    Option(
        "repeat",
        "call the model N times per case, at most 1000 (overrides the case files' repeat)",
        repeat_count,
        None,
        "N",
    ),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


def resolve(name: str, cli_value: Any, ini_value: Any) -> Any:
    """Command line first, then the ini/pyproject value, then the default; parsed once."""
    option = OPTIONS_BY_NAME[name]
    if cli_value is not None:
        return cli_value
    if ini_value not in (None, "", []):
        try:
            return option.parse(str(ini_value))
        except ConfigError as exc:
            raise ConfigError(f"{option.ini}: {exc}") from None
    return option.default
