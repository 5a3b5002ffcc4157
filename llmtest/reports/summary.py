"""One reading of a results file that every reporter shares, so JUnit, Markdown, JSON and
HTML never disagree about what passed.

A case with ``repeat: N`` has N records; it is summarized as one case whose status is
``error`` if any attempt errored, ``skip`` if every attempt was skipped, and otherwise
``pass`` when its pass rate reaches the case's ``min_pass_rate`` (1.0 when a record does
not say).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmtest.assertions.base import mean_score
from llmtest.results.jsonl import ResultsFile
from llmtest.results.record import Status

STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skip")
Record = Mapping[str, Any]
MISSING = "\N{EN DASH}"
"""How reports show a figure that is not known (no latency for an error, no price)."""


def record_status(record: Record) -> Status:
    """A record's status; anything unknown counts as an error rather than a pass."""
    value = record.get("status")
    for status in STATUSES:
        if value == status:
            return status
    return "error"


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _sum(values: Iterable[float | None]) -> float | None:
    """The sum of the known values; None when none is known (unknown is not zero)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def record_usage(record: Record, key: str) -> int | None:
    usage = record.get("usage")
    value = as_number(usage.get(key)) if isinstance(usage, Mapping) else None
    return None if value is None else int(value)


def _sum_tokens(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def record_assertions(record: Record) -> list[Record]:
    found = record.get("assertions")
    if not isinstance(found, list):
        return []
    return [a for a in found if isinstance(a, Mapping)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between ranks, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class FailedAssertion:
    """A failing assertion of one attempt, with how many attempts failed it the same way."""

    type: str
    message: str
    score: float | None
    attempts: int = 1


@dataclass(frozen=True)
class CaseSummary:
    """Every attempt of one case against one model, and its verdict."""

    suite: str
    case_id: str
    case_hash: str
    model: str
    status: Status
    attempts: tuple[Record, ...]
    min_pass_rate: float

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.suite, self.case_id, self.case_hash)

    @property
    def tags(self) -> tuple[str, ...]:
        tags = self.attempts[0].get("tags") if self.attempts else None
        return tuple(str(t) for t in tags) if isinstance(tags, list) else ()

    @property
    def repeated(self) -> bool:
        return len(self.attempts) > 1

    @property
    def counted_attempts(self) -> int:
        """Attempts that ran (skipped attempts are not in the pass rate)."""
        return sum(1 for a in self.attempts if record_status(a) != "skip")

    @property
    def passed_attempts(self) -> int:
        return sum(1 for a in self.attempts if record_status(a) == "pass")

    @property
    def pass_rate(self) -> float | None:
        counted = self.counted_attempts
        return self.passed_attempts / counted if counted else None

    @property
    def score(self) -> float | None:
        """The mean of every assertion's 0-1 score over every attempt."""
        return mean_score(
            (str(x.get("type")), as_number(x.get("score")))
            for a in self.attempts
            for x in record_assertions(a)
        )

    @property
    def latencies_ms(self) -> list[float]:
        return [v for a in self.attempts if (v := as_number(a.get("latency_ms"))) is not None]

    @property
    def latency_ms(self) -> float | None:
        """The mean latency of the attempts that have one."""
        values = self.latencies_ms
        return sum(values) / len(values) if values else None

    @property
    def input_tokens(self) -> int | None:
        return _sum_tokens(record_usage(a, "input_tokens") for a in self.attempts)

    @property
    def output_tokens(self) -> int | None:
        return _sum_tokens(record_usage(a, "output_tokens") for a in self.attempts)

    @property
    def cost_usd(self) -> float | None:
        return _sum(as_number(a.get("cost_usd")) for a in self.attempts)

    @property
    def retries(self) -> int:
        return sum(int(as_number(a.get("retries")) or 0) for a in self.attempts)

    @property
    def provider_model(self) -> str | None:
        for attempt in self.attempts:
            if attempt.get("provider_model"):
                return str(attempt["provider_model"])
        return None

    @property
    def prompt(self) -> str | None:
        for attempt in self.attempts:
            if attempt.get("prompt") is not None:
                return str(attempt["prompt"])
        return None

    @property
    def errors(self) -> list[str]:
        """Distinct error messages of the attempts that ran, in attempt order."""
        seen: dict[str, None] = {}
        for attempt in self.attempts:
            if attempt.get("error") and record_status(attempt) != "skip":
                seen.setdefault(str(attempt["error"]), None)
        return list(seen)

    @property
    def skip_reason(self) -> str | None:
        """Why the case file skips the case (a skip record keeps it in ``error``)."""
        for attempt in self.attempts:
            if record_status(attempt) == "skip":
                return str(attempt.get("error") or "skipped")
        return None

    @property
    def failed_assertions(self) -> list[FailedAssertion]:
        """Failing assertions over all attempts; the same failure in several attempts once."""
        found: dict[tuple[str, str], FailedAssertion] = {}
        for attempt in self.attempts:
            for item in record_assertions(attempt):
                if item.get("passed") is True:
                    continue
                key = (str(item.get("type", "?")), str(item.get("message", "")))
                if key in found:
                    previous = found[key]
                    found[key] = FailedAssertion(
                        key[0], key[1], previous.score, previous.attempts + 1
                    )
                else:
                    found[key] = FailedAssertion(key[0], key[1], as_number(item.get("score")))
        return list(found.values())

    @property
    def shown_attempt(self) -> Record | None:
        """The attempt a short report shows: the first that errored or failed, else the first."""
        for wanted in ("error", "fail"):
            for attempt in self.attempts:
                if record_status(attempt) == wanted:
                    return attempt
        return self.attempts[0] if self.attempts else None

    @property
    def output(self) -> str | None:
        attempt = self.shown_attempt
        value = attempt.get("output") if attempt else None
        return None if value is None else str(value)

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


def case_status(attempts: Sequence[Record], min_pass_rate: float) -> Status:
    statuses = [record_status(a) for a in attempts]
    if "error" in statuses:
        return "error"
    counted = [s for s in statuses if s != "skip"]
    if not counted:
        return "skip"
    rate = counted.count("pass") / len(counted)
    return "pass" if rate >= min_pass_rate else "fail"


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
    """Latency over every attempt that has one (a repeated case counts once per attempt)."""

    values_ms: tuple[float, ...]

    @property
    def p50(self) -> float | None:
        return percentile(self.values_ms, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.values_ms, 95)

    @property
    def mean(self) -> float | None:
        return sum(self.values_ms) / len(self.values_ms) if self.values_ms else None

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
class RunSummary:
    """A results file, summarized: the header, one entry per case, and the totals."""

    header: Mapping[str, Any]
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
        return sum(len(c.attempts) for c in self.cases)

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.cases)

    @property
    def input_tokens(self) -> int | None:
        return _sum_tokens(c.input_tokens for c in self.cases)

    @property
    def output_tokens(self) -> int | None:
        return _sum_tokens(c.output_tokens for c in self.cases)

    @property
    def cost_usd(self) -> float | None:
        return _sum(c.cost_usd for c in self.cases)

    @property
    def latency(self) -> LatencySummary:
        return LatencySummary(tuple(v for c in self.cases for v in c.latencies_ms))

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
        value = self.header.get("run_id")
        if value is None and self.cases and self.cases[0].attempts:
            value = self.cases[0].attempts[0].get("run_id")
        return None if value is None else str(value)

    @property
    def models(self) -> list[str]:
        """The model names of the cases, in order of first appearance."""
        return list(dict.fromkeys(c.model for c in self.cases))

    @property
    def model_label(self) -> str:
        """How reports name the model: the run's configured name, else the cases' names."""
        model = self.header.get("model")
        if isinstance(model, Mapping) and model.get("name") and model["name"] != "mixed":
            name = str(model["name"])
            target = model.get("model")
            return f"{name} ({target})" if target and target != name else name
        return ", ".join(self.models) or "?"

    @property
    def started_at(self) -> str | None:
        """The run's start, as ``YYYY-MM-DD HH:MM:SS UTC`` when the header's date parses."""
        value = self.header.get("started_at")
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        offset = moment.utcoffset()
        if offset is not None and not offset:
            return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        return moment.isoformat(sep=" ", timespec="seconds")

    def totals_dict(self) -> dict[str, Any]:
        return {
            **self.counts.to_dict(),
            "attempts": self.attempts,
            "retries": self.retries,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "cost_usd": self.cost_usd,
        }


def summarize(results: ResultsFile) -> RunSummary:
    """Group a results file's records into cases, in order of each case's first record."""
    grouped: dict[tuple[str, str, str, str], list[Record]] = {}
    for record in results.cases:
        key = (
            str(record.get("model", "")),
            str(record.get("suite", "")),
            str(record.get("case_id", "")),
            str(record.get("case_hash", "")),
        )
        grouped.setdefault(key, []).append(record)
    cases = []
    for (model, suite, case_id, case_hash), records in grouped.items():
        attempts = tuple(sorted(records, key=lambda r: as_number(r.get("attempt")) or 0))
        rates = [r for a in attempts if (r := as_number(a.get("min_pass_rate"))) is not None]
        min_pass_rate = max(rates) if rates else 1.0
        cases.append(
            CaseSummary(
                suite=suite,
                case_id=case_id,
                case_hash=case_hash,
                model=model,
                status=case_status(attempts, min_pass_rate),
                attempts=attempts,
                min_pass_rate=min_pass_rate,
            )
        )
    return RunSummary(results.header, tuple(cases), results.skipped_lines)


def verdict(summary: RunSummary, *, icon: bool = True) -> str:
    """The one line every report leads with: ✅ or ❌ (⚠️ when nothing ran) and the counts."""
    counts = summary.counts
    ran = counts.cases - counts.skipped
    if ran == 0:
        mark = "⚠️ " if icon else ""
        return f"{mark}llmtest: no cases ran ({counts.cases} cases, {counts.skipped} skipped)"
    mark = ("✅ " if summary.ok else "❌ ") if icon else ""
    line = f"{mark}llmtest: {counts.passed} of {ran} cases passed"
    details = []
    if counts.failed:
        details.append(f"{counts.failed} failed")
    if counts.errors:
        details.append(f"{counts.errors} {'error' if counts.errors == 1 else 'errors'}")
    if counts.skipped:
        details.append(f"{counts.skipped} skipped")
    return f"{line} ({', '.join(details)})" if details else line


def plural(count: int, word: str, plural: str | None = None) -> str:
    """``1 case``, ``2 cases``."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def format_rate(rate: float | None) -> str:
    return MISSING if rate is None else f"{rate * 100:.1f}%"


def format_ms(value: float | None) -> str:
    if value is None:
        return MISSING
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


def format_count(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.0f}"


def format_cost(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def format_score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"
