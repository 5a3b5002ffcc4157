"""The records of a results file, the contract other tools read (docs/design.md): a run
header, then one case record per attempt. Parsed once, at the edge, into these types;
everything downstream (reports, comparison, history) works on them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast, get_args

from llmtest import __version__
from llmtest.assertions.base import AssertionResult, mean_score
from llmtest.errors import LLMTestError
from llmtest.results.figures import Status as Status

if TYPE_CHECKING:
    from llmtest.cases.model import Case
    from llmtest.config.project import ModelConfig


@dataclass(frozen=True)
class CaseResult:
    """One attempt of one case against one model. Field names follow the JSONL contract;
    extend, never rename."""

    run_id: str
    suite: str
    case_id: str
    case_hash: str
    model: str
    attempt: int
    status: Status
    assertions: Sequence[AssertionResult]
    output: str | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    tags: Sequence[str]
    error: str | None
    retries: int = 0
    provider_model: str | None = None
    prompt: str | None = None
    min_pass_rate: float = 1.0
    repeat: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields this version does not know (a newer llmtest wrote them): written back as read."""

    @property
    def score(self) -> float | None:
        """The mean of the assertions' 0-1 scores, where they have one."""
        return mean_score((a.type, a.score) for a in self.assertions)

    def to_record(self) -> dict[str, Any]:
        return {
            "type": "case",
            "run_id": self.run_id,
            "suite": self.suite,
            "case_id": self.case_id,
            "case_hash": self.case_hash,
            "model": self.model,
            "provider_model": self.provider_model,
            "attempt": self.attempt,
            "status": self.status,
            "assertions": [a.to_record() for a in self.assertions],
            "output": self.output,
            "latency_ms": self.latency_ms,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "cost_usd": self.cost_usd,
            "tags": list(self.tags),
            "error": self.error,
            "retries": self.retries,
            "prompt": self.prompt,
            "repeat": self.repeat,
            "min_pass_rate": self.min_pass_rate,
            **self.extra,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any], where: str) -> CaseResult:
        """A case record read back; ``where`` (``path:line``) starts every error message.
        Fields an older llmtest did not write take their defaults."""
        read = _Fields(data, where)
        usage = _Fields(read.mapping("usage"), f"{where}: field 'usage'")
        record = object.__new__(cls)
        # A frozen dataclass's __init__ sets each field through object.__setattr__: a third
        # of the time of reading a record. The fields are checked here, so set them at once.
        record.__dict__.update(
            run_id=read.text("run_id", default=""),
            suite=read.text("suite"),
            case_id=read.text("case_id"),
            case_hash=read.text("case_hash", default=""),
            model=read.text("model", default=""),
            attempt=read.whole("attempt", default=0),
            status=read.status(),
            assertions=read.assertions(),
            output=read.optional_text("output"),
            latency_ms=read.number("latency_ms"),
            input_tokens=usage.optional_whole("input_tokens"),
            output_tokens=usage.optional_whole("output_tokens"),
            cost_usd=read.number("cost_usd"),
            tags=read.texts("tags"),
            error=read.optional_text("error"),
            retries=read.whole("retries", default=0),
            provider_model=read.optional_text("provider_model"),
            prompt=read.optional_text("prompt"),
            min_pass_rate=read.rate("min_pass_rate"),
            repeat=read.whole("repeat", default=1),
            extra={k: v for k, v in data.items() if k not in _CASE_FIELDS},
        )
        return record


_CASE_FIELDS: Final = frozenset(
    {"type", *CaseResult.__dataclass_fields__, "usage"} - {"input_tokens", "output_tokens", "extra"}
)


@dataclass
class RunHeader:
    """The first line of a results file. ``model`` is the redacted model config (or
    ``{"name": "mixed", "models": [...]}`` when suites name different models)."""

    run_id: str
    model: Mapping[str, Any]
    suites: Mapping[str, str]
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    llmtest_version: str = __version__
    git_sha: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """``canary``, ``merged_from`` and whatever else a front end adds to the header."""

    @property
    def model_name(self) -> str | None:
        name = self.model.get("name")
        return str(name) if name else None

    @property
    def model_names(self) -> list[str]:
        """Every model the run used: the one, or each of a mixed run's."""
        if self.model_name != "mixed":
            return [self.model_name] if self.model_name else []
        models = self.model.get("models")
        listed = models if isinstance(models, list) else []
        return [str(m["name"]) for m in listed if isinstance(m, Mapping) and m.get("name")]

    def to_record(self) -> dict[str, Any]:
        return {
            "type": "run",
            "run_id": self.run_id,
            "llmtest_version": self.llmtest_version,
            "git_sha": self.git_sha,
            "model": dict(self.model),
            "suites": dict(self.suites),
            "started_at": self.started_at,
            **self.extra,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any], where: str) -> RunHeader:
        read = _Fields(data, where)
        suites = read.mapping("suites")
        bad = next((k for k, v in suites.items() if not isinstance(v, str)), None)
        if bad is not None:
            raise LLMTestError(f"{where}: field 'suites': the hash of {bad!r} is not a string")
        return cls(
            run_id=read.text("run_id", default=""),
            model=read.mapping("model"),
            suites=dict(suites),
            started_at=read.text("started_at", default=""),
            llmtest_version=read.text("llmtest_version", default=""),
            git_sha=read.optional_text("git_sha"),
            extra={k: v for k, v in data.items() if k not in _HEADER_FIELDS},
        )


_HEADER_FIELDS: Final = frozenset({"type", *RunHeader.__dataclass_fields__} - {"extra"})
_STATUSES: Final = frozenset(get_args(Status))


class _Fields:
    """Typed reads of one record's fields, each failure a one-line error naming the field."""

    __slots__ = ("data", "where")

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _bad(self, key: str, expected: str) -> LLMTestError:
        value = repr(self.data[key])
        shown = value if len(value) <= 60 else value[:57] + "..."
        return LLMTestError(f"{self.where}: field {key!r}: expected {expected}, got {shown}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key)
        if isinstance(value, str):
            return value
        if value is None and default is not None:
            return default
        if key not in self.data:
            raise LLMTestError(f"{self.where}: field {key!r} is missing")
        raise self._bad(key, "a string")

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(key, "a string or null")

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self._bad(key, "a list of strings")

    def whole(self, key: str, default: int) -> int:
        value = self.optional_whole(key)
        return default if value is None else value

    def optional_whole(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise self._bad(key, "a whole number")

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise self._bad(key, "a finite number")

    def rate(self, key: str) -> float:
        """A share from 0 to 1 (1 when absent)."""
        value = self.number(key, default=1.0)
        assert value is not None
        if not 0 <= value <= 1:
            raise self._bad(key, "a number from 0 to 1")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return value
        raise self._bad(key, "an object")

    def status(self) -> Status:
        value = self.data.get("status")
        if isinstance(value, str) and value in _STATUSES:
            return cast(Status, value)
        if "status" not in self.data:
            raise LLMTestError(f"{self.where}: field 'status' is missing")
        raise self._bad("status", "one of " + ", ".join(sorted(_STATUSES)))

    def assertions(self) -> tuple[AssertionResult, ...]:
        value = self.data.get("assertions")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._bad("assertions", "a list")
        return tuple(
            _assertion(item, f"{self.where}: assertion {number}")
            for number, item in enumerate(value, start=1)
        )


def _assertion(data: object, where: str) -> AssertionResult:
    if not isinstance(data, Mapping):
        raise LLMTestError(f"{where}: expected an object, got {type(data).__name__}")
    read = _Fields(data, where)
    passed = data.get("passed")
    if not isinstance(passed, bool):
        raise LLMTestError(f"{where}: field 'passed': expected true or false")
    return AssertionResult(
        type=read.text("type"),
        passed=passed,
        score=read.number("score"),
        message=read.optional_text("message") or "",
    )


def case_fields(case: Case) -> dict[str, Any]:
    """What every record of ``case`` says about the case itself, whatever its outcome."""
    return {
        "suite": case.suite,
        "case_id": case.id,
        "case_hash": case.hash,
        "tags": case.tags,
        "prompt": case.prompt,
        "min_pass_rate": case.min_pass_rate,
        "repeat": case.repeat,
    }


def skip_record(case: Case, model: ModelConfig | None, run_id: str) -> CaseResult:
    """The record of a case its file marks ``skip:``: the reason is in ``error``."""
    return CaseResult(
        run_id=run_id,
        model=model.name if model else "",
        attempt=0,
        status="skip",
        assertions=(),
        output=None,
        latency_ms=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        error=case.skip,
        **case_fields(case),
    )
