"""One reading of a results file that every report, the comparison and the front ends
share, so JUnit, Markdown, JSON, HTML and ``llmtest compare`` never disagree about what
passed.

A case with ``repeat: N`` has N records; it is summarized as one case whose verdict is
:func:`~llmtest.results.figures.case_verdict` over its attempts: ``error`` if any attempt
errored, ``skip`` if every attempt was skipped, and otherwise ``pass`` when its pass rate
reaches the case's ``min_pass_rate`` (1.0 when a record does not say).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from llmtest._gc import gc_paused
from llmtest.assertions.base import mean_score
from llmtest.results import figures
from llmtest.results.figures import Status
from llmtest.results.jsonl import ResultsFile
from llmtest.results.record import CaseResult, RunHeader

_N = TypeVar("_N", int, float)


def _total(values: Iterable[_N | None]) -> _N | None:
    """The sum of the known values; None when none is known (unknown is not zero)."""
    total = None
    for value in values:
        if value is not None:
            total = value if total is None else total + value
    return total


class _Totals:
    """Tokens, cost and retries summed over attempts, each None when no attempt reports it."""

    def every_attempt(self) -> Iterator[CaseResult]:
        raise NotImplementedError

    @property
    def input_tokens(self) -> int | None:
        return _total(a.input_tokens for a in self.every_attempt())

    @property
    def output_tokens(self) -> int | None:
        return _total(a.output_tokens for a in self.every_attempt())

    @property
    def cost_usd(self) -> float | None:
        return _total(a.cost_usd for a in self.every_attempt())

    @property
    def retries(self) -> int:
        return sum(a.retries for a in self.every_attempt())


@dataclass(frozen=True)
class FailedAssertion:
    """A failing assertion of one attempt, with how many attempts failed it the same way."""

    type: str
    message: str
    score: float | None
    attempts: int = 1


@dataclass(frozen=True)
class CaseSummary(_Totals):
    """Every attempt of one case against one model, and its verdict."""

    suite: str
    case_id: str
    case_hash: str
    model: str
    status: Status
    attempts: tuple[CaseResult, ...]
    min_pass_rate: float
    confirmations: tuple[CaseResult, ...] = ()
    """Attempts a canary added to confirm a regression: kept apart, so they never change
    the case's verdict (see llmtest.compare.confirmation)."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.suite, self.case_id, self.case_hash)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.attempts[0].tags) if self.attempts else ()

    @property
    def repeated(self) -> bool:
        return len(self.attempts) > 1

    @property
    def counted_attempts(self) -> int:
        """Attempts that ran (skipped attempts are not in the pass rate)."""
        return sum(1 for a in self.attempts if a.status != "skip")

    @property
    def passed_attempts(self) -> int:
        return sum(1 for a in self.attempts if a.status == "pass")

    @property
    def pass_rate(self) -> float | None:
        counted = self.counted_attempts
        return self.passed_attempts / counted if counted else None

    @property
    def score(self) -> float | None:
        """The mean of every assertion's 0-1 score over every attempt."""
        return mean_score((x.type, x.score) for a in self.attempts for x in a.assertions)

    @property
    def latencies_ms(self) -> list[float]:
        return [a.latency_ms for a in self.attempts if a.latency_ms is not None]

    @property
    def latency_ms(self) -> float | None:
        """The mean latency of the attempts that have one."""
        return figures.mean(self.latencies_ms)

    def every_attempt(self) -> Iterator[CaseResult]:
        return iter(self.attempts)

    @property
    def provider_model(self) -> str | None:
        return next((a.provider_model for a in self.attempts if a.provider_model), None)

    @property
    def prompt(self) -> str | None:
        return next((a.prompt for a in self.attempts if a.prompt is not None), None)

    @property
    def errors(self) -> list[str]:
        """Distinct error messages of the attempts that ran, in attempt order."""
        ran = (a.error for a in self.attempts if a.error and a.status != "skip")
        return list(dict.fromkeys(ran))

    @property
    def skip_reason(self) -> str | None:
        """Why the case file skips the case (a skip record keeps it in ``error``)."""
        skipped = (a.error or "skipped" for a in self.attempts if a.status == "skip")
        return next(skipped, None)

    @property
    def failed_assertions(self) -> list[FailedAssertion]:
        """Failing assertions over all attempts; the same failure in several attempts once."""
        found: dict[tuple[str, str], FailedAssertion] = {}
        for attempt in self.attempts:
            for item in attempt.assertions:
                if item.passed:
                    continue
                key = (item.type, item.message)
                if key in found:
                    previous = found[key]
                    found[key] = FailedAssertion(*key, previous.score, previous.attempts + 1)
                else:
                    found[key] = FailedAssertion(*key, item.score)
        return list(found.values())

    @property
    def shown_attempt(self) -> CaseResult | None:
        """The attempt a short report shows: the first that errored or failed, else the first."""
        for wanted in ("error", "fail"):
            for attempt in self.attempts:
                if attempt.status == wanted:
                    return attempt
        return self.attempts[0] if self.attempts else None

    @property
    def output(self) -> str | None:
        attempt = self.shown_attempt
        return attempt.output if attempt else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "case_id": self.case_id,
            "case_hash": self.case_hash,
            "model": self.model,
            "provider_model": self.provider_model,
            "status": self.status,
            "tags": list(self.tags),
            "attempts": len(self.attempts),
            "attempts_run": self.counted_attempts,
            "passed_attempts": self.passed_attempts,
            "pass_rate": self.pass_rate,
            "min_pass_rate": self.min_pass_rate,
            "score": self.score,
            "latency_ms": self.latency_ms,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "cost_usd": self.cost_usd,
            "retries": self.retries,
            "errors": self.errors,
            "skip_reason": self.skip_reason,
            "failed_assertions": [
                {"type": f.type, "message": f.message, "score": f.score, "attempts": f.attempts}
                for f in self.failed_assertions
            ],
        }


@dataclass(frozen=True)
class Counts:
    """Cases by status. Errored cases stay in the pass rate's denominator: an error is not
    a pass, and dropping it would flatter a model that times out."""

    cases: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def pass_rate(self) -> float | None:
        counted = self.cases - self.skipped
        return self.passed / counted if counted else None

    @classmethod
    def of(cls, cases: Iterable[CaseSummary]) -> Counts:
        statuses = [c.status for c in cases]
        return cls(
            cases=len(statuses),
            passed=statuses.count("pass"),
            failed=statuses.count("fail"),
            errors=statuses.count("error"),
            skipped=statuses.count("skip"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "pass_rate": self.pass_rate,
        }


@dataclass(frozen=True)
class TagSummary:
    tag: str
    counts: Counts

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, **self.counts.to_dict()}


@dataclass(frozen=True)
class LatencySummary:
    """Latency over every attempt that has one (a repeated case counts once per attempt),
    its percentiles by :func:`~llmtest.results.figures.percentile`, as every output's."""

    values_ms: tuple[float, ...]

    @classmethod
    def of(cls, cases: Iterable[CaseSummary]) -> LatencySummary:
        return cls(tuple(v for c in cases for v in c.latencies_ms))

    @property
    def p50(self) -> float | None:
        return figures.percentile(self.values_ms, 50)

    @property
    def p95(self) -> float | None:
        return figures.percentile(self.values_ms, 95)

    @property
    def mean(self) -> float | None:
        return figures.mean(self.values_ms)

    @property
    def max(self) -> float | None:
        return max(self.values_ms) if self.values_ms else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": len(self.values_ms),
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "mean_ms": self.mean,
            "max_ms": self.max,
        }


@dataclass(frozen=True)
class RunSummary(_Totals):
    """A results file, summarized: the header (None when the file has none), one entry per
    case, and the totals."""

    header: RunHeader | None
    cases: tuple[CaseSummary, ...]
    skipped_lines: int = 0

    @property
    def counts(self) -> Counts:
        return Counts.of(self.cases)

    @property
    def ok(self) -> bool:
        """True when something ran and nothing failed or errored."""
        counts = self.counts
        return counts.cases > counts.skipped and counts.failed == 0 and counts.errors == 0

    @property
    def attempts(self) -> int:
        """Every attempt's record, a skipped case's included."""
        return sum(len(c.attempts) for c in self.cases)

    @property
    def attempts_run(self) -> int:
        """Attempts that asked for an answer (of the model, or of the response cache: a
        record does not say which); a skipped case asks for none."""
        return sum(c.counted_attempts for c in self.cases)

    def every_attempt(self) -> Iterator[CaseResult]:
        return (a for c in self.cases for a in c.attempts)

    @property
    def latency(self) -> LatencySummary:
        return LatencySummary.of(self.cases)

    @property
    def by_tag(self) -> list[TagSummary]:
        """Counts per tag, by tag name; untagged cases appear only in the totals."""
        tagged: dict[str, list[CaseSummary]] = {}
        for case in self.cases:
            for tag in dict.fromkeys(case.tags):
                tagged.setdefault(tag, []).append(case)
        return [TagSummary(tag, Counts.of(tagged[tag])) for tag in sorted(tagged)]

    @property
    def run_id(self) -> str | None:
        """The header's run id, else the first record's (a file without a header)."""
        if self.header is not None and self.header.run_id:
            return self.header.run_id
        first = next((a.run_id for c in self.cases for a in c.attempts), None)
        return first or None

    @property
    def git_sha(self) -> str | None:
        return self.header.git_sha if self.header else None

    @property
    def llmtest_version(self) -> str | None:
        """The version of llmtest that wrote the file, when its header says."""
        return (self.header.llmtest_version or None) if self.header else None

    @property
    def models(self) -> list[str]:
        """The model names of the cases, in order of first appearance."""
        return list(dict.fromkeys(c.model for c in self.cases))

    @property
    def model_label(self) -> str:
        """How reports name the model: the run's configured name, else the cases' names."""
        name = self.header.model_name if self.header else None
        if self.header is not None and name and name != "mixed":
            target = self.header.model.get("model")  # the model config, free-form
            return f"{name} ({target})" if target and target != name else name
        return ", ".join(self.models) or "?"

    @property
    def started_at(self) -> str | None:
        """The run's start, as ``YYYY-MM-DD HH:MM:SS UTC`` when the header's date parses."""
        value = self.header.started_at if self.header else None
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        offset = moment.utcoffset()
        if offset is not None and not offset:
            return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        return moment.isoformat(sep=" ", timespec="seconds")

    def totals_dict(self) -> dict[str, Any]:
        return {
            **self.counts.to_dict(),
            "attempts": self.attempts,
            "attempts_run": self.attempts_run,
            "retries": self.retries,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "cost_usd": self.cost_usd,
        }


def summarize(results: ResultsFile) -> RunSummary:
    """Group a results file's records into cases, in order of each case's first record."""
    with gc_paused(freeze=False):  # a summary per case, all living as long as the report
        return _summarize(results)


def _summarize(results: ResultsFile) -> RunSummary:
    grouped: dict[tuple[str, str, str, str], list[CaseResult]] = {}
    for record in results.cases:
        key = (record.model, record.suite, record.case_id, record.case_hash)
        grouped.setdefault(key, []).append(record)
    confirming: dict[tuple[str, str, str, str], list[CaseResult]] = {}
    for record in results.confirmations:
        key = (record.model, record.suite, record.case_id, record.case_hash)
        confirming.setdefault(key, []).append(record)
    cases = []
    attempts: tuple[CaseResult, ...]
    for key, records in grouped.items():
        model, suite, case_id, case_hash = key
        if len(records) == 1:  # most cases: no sorting, no maximum to find
            attempts, min_pass_rate = (records[0],), records[0].min_pass_rate
        else:
            attempts = tuple(sorted(records, key=lambda r: r.attempt))
            min_pass_rate = max(a.min_pass_rate for a in attempts)
        cases.append(
            CaseSummary(
                suite=suite,
                case_id=case_id,
                case_hash=case_hash,
                model=model,
                status=figures.case_verdict([a.status for a in attempts], min_pass_rate),
                attempts=attempts,
                min_pass_rate=min_pass_rate,
                confirmations=tuple(confirming.get(key, ())),
            )
        )
    return RunSummary(results.header, tuple(cases), results.skipped_lines)
