"""The comparison itself: paired cases, what changed, and the figures each side scored on
the same cases, so the two sides are always measured on equal ground."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, get_args

from llmtest._gc import gc_paused
from llmtest.compare.drift import DriftSummary, measure_drift
from llmtest.compare.pairing import CasePair, Change, Pairing, pair_cases
from llmtest.compare.stats import (
    Interval,
    mcnemar_exact,
    ratio,
    sign_flip_test,
    wilson_interval,
)
from llmtest.results.jsonl import ResultsFile
from llmtest.results.summary import CaseSummary, Counts, LatencySummary, RunSummary, summarize


@dataclass(frozen=True)
class RateSummary:
    """A pass rate with its 95% Wilson interval. Errored cases are in the denominator;
    skipped ones are not."""

    counts: Counts

    @property
    def rate(self) -> float | None:
        return self.counts.pass_rate

    @property
    def decided(self) -> int:
        return self.counts.cases - self.counts.skipped

    @property
    def interval(self) -> Interval | None:
        return wilson_interval(self.counts.passed, self.decided)

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            **self.counts.to_dict(),
            "ci95": None if interval is None else [interval.low, interval.high],
        }


@dataclass(frozen=True)
class SideStats:
    """One run's figures over the paired cases only."""

    cases: tuple[CaseSummary, ...]

    @cached_property
    def overall(self) -> RateSummary:
        return RateSummary(Counts.of(self.cases))

    @cached_property
    def latency(self) -> LatencySummary:
        """Every attempt's latency (a repeated case counts once per attempt), with the
        percentiles a run report gives."""
        return LatencySummary.of(self.cases)

    @property
    def latencies_ms(self) -> tuple[float, ...]:
        return self.latency.values_ms

    @cached_property
    def latency_p50(self) -> float | None:
        return self.latency.p50

    @cached_property
    def latency_p95(self) -> float | None:
        return self.latency.p95

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass_rate": self.overall.to_dict(),
            "latency": {
                "attempts": len(self.latencies_ms),
                "p50_ms": self.latency_p50,
                "p95_ms": self.latency_p95,
            },
        }


@dataclass(frozen=True)
class UsageComparison:
    """Tokens and cost over the pairs where both sides report the figure: a case priced on
    one side only would make the ratio meaningless."""

    name: str
    pairs: int
    baseline_total: float | None
    candidate_total: float | None

    def _per_case(self, total: float | None) -> float | None:
        return None if total is None or not self.pairs else total / self.pairs

    @property
    def baseline_per_case(self) -> float | None:
        return self._per_case(self.baseline_total)

    @property
    def candidate_per_case(self) -> float | None:
        return self._per_case(self.candidate_total)

    @property
    def ratio(self) -> float | None:
        return ratio(self.candidate_total, self.baseline_total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "baseline_total": self.baseline_total,
            "candidate_total": self.candidate_total,
            "baseline_per_case": self.baseline_per_case,
            "candidate_per_case": self.candidate_per_case,
            "ratio": self.ratio,
        }


def _usage(name: str, pairs: Sequence[CasePair], field: str) -> UsageComparison:
    known = [
        (b, c)
        for p in pairs
        if (b := getattr(p.baseline.case, field)) is not None
        and (c := getattr(p.candidate.case, field)) is not None
    ]
    if not known:
        return UsageComparison(name, 0, None, None)
    return UsageComparison(
        name, len(known), float(sum(b for b, _ in known)), float(sum(c for _, c in known))
    )


@dataclass(frozen=True)
class TagComparison:
    tag: str
    baseline: RateSummary
    candidate: RateSummary
    regressions: int
    fixes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "regressions": self.regressions,
            "fixes": self.fixes,
        }


@dataclass(frozen=True)
class PairedTest:
    """The paired test of the pass-rate drop over the judged pairs (neither side errored
    nor skipped): each case's pass rate on the baseline minus on the candidate, over its
    attempts. With one attempt a side this is the one-sided exact McNemar test."""

    pairs: int
    drop: float | None
    """The mean per-case drop (0.05 = 5 points); None with no judged pair."""
    p_value: float
    exact: bool
    changed: int
    """Judged pairs whose two pass rates differ."""
    repeated: bool

    @property
    def method(self) -> str:
        if not self.repeated:
            return "one-sided exact McNemar test"
        how = "exact" if self.exact else "normal approximation"
        return f"one-sided paired sign-flip test on per-case pass rates ({how})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pairs": self.pairs,
            "changed": self.changed,
            "drop": self.drop,
            "p_value": self.p_value,
            "exact": self.exact,
        }


def _paired_test(pairs: Sequence[CasePair]) -> PairedTest:
    differences: list[Fraction] = []
    repeated = False
    for pair in pairs:
        if pair.change not in ("regression", "fix", "still-pass", "still-fail"):
            continue
        before, after = pair.baseline.case, pair.candidate.case
        repeated = repeated or before.repeated or after.repeated
        differences.append(
            Fraction(before.passed_attempts, before.counted_attempts)
            - Fraction(after.passed_attempts, after.counted_attempts)
        )
    test = sign_flip_test(differences)
    drop = float(sum(differences) / len(differences)) if differences else None
    return PairedTest(len(differences), drop, test.p_value, test.exact, test.nonzero, repeated)


@dataclass(frozen=True)
class Comparison:
    """Everything ``llmtest compare`` reports, before any gate is applied."""

    baseline_run: RunSummary
    candidate_run: RunSummary
    pairing: Pairing
    drift: DriftSummary

    @property
    def pairs(self) -> tuple[CasePair, ...]:
        return self.pairing.pairs

    @cached_property
    def _by_change(self) -> dict[Change, tuple[CasePair, ...]]:
        grouped: dict[Change, list[CasePair]] = {change: [] for change in get_args(Change)}
        for pair in self.pairs:
            grouped[pair.change].append(pair)
        return {change: tuple(pairs) for change, pairs in grouped.items()}

    @property
    def regressions(self) -> tuple[CasePair, ...]:
        return self._by_change["regression"]

    @property
    def fixes(self) -> tuple[CasePair, ...]:
        return self._by_change["fix"]

    @property
    def undecided(self) -> tuple[CasePair, ...]:
        """Pairs where either side errored: neither a regression nor a fix can be told."""
        return self._by_change["undecided"]

    @property
    def skipped(self) -> tuple[CasePair, ...]:
        return self._by_change["skipped"]

    @cached_property
    def rate_changes(self) -> tuple[CasePair, ...]:
        """Repeated cases whose verdict held but whose per-case pass rate moved."""
        return tuple(
            p
            for p in self.pairs
            if p.change in ("still-pass", "still-fail")
            and (p.baseline.case.repeated or p.candidate.case.repeated)
            and p.pass_rate_delta
        )

    @cached_property
    def baseline(self) -> SideStats:
        return SideStats(tuple(p.baseline.case for p in self.pairs))

    @cached_property
    def candidate(self) -> SideStats:
        return SideStats(tuple(p.candidate.case for p in self.pairs))

    @cached_property
    def paired_test(self) -> PairedTest:
        return _paired_test(self.pairs)

    @property
    def confirmation_calls(self) -> int:
        """Attempts a canary spent confirming regressions, on both sides."""
        return sum(
            len(p.baseline.case.confirmations) + len(p.candidate.case.confirmations)
            for p in self.pairs
        )

    @property
    def mcnemar_p(self) -> float:
        """Exact McNemar p-value over the decided pairs (errors and skips excluded)."""
        return mcnemar_exact(len(self.regressions), len(self.fixes))

    @property
    def pass_rate_drop(self) -> float | None:
        before, after = self.baseline.overall.rate, self.candidate.overall.rate
        return None if before is None or after is None else before - after

    @property
    def latency_p50_ratio(self) -> float | None:
        return ratio(self.candidate.latency_p50, self.baseline.latency_p50)

    @property
    def latency_p95_ratio(self) -> float | None:
        return ratio(self.candidate.latency_p95, self.baseline.latency_p95)

    @cached_property
    def cost(self) -> UsageComparison:
        return _usage("cost_usd", self.pairs, "cost_usd")

    @cached_property
    def input_tokens(self) -> UsageComparison:
        return _usage("input_tokens", self.pairs, "input_tokens")

    @cached_property
    def output_tokens(self) -> UsageComparison:
        return _usage("output_tokens", self.pairs, "output_tokens")

    @cached_property
    def by_tag(self) -> tuple[TagComparison, ...]:
        tagged: dict[str, list[CasePair]] = {}
        for pair in self.pairs:
            for tag in pair.tags:
                tagged.setdefault(tag, []).append(pair)
        return tuple(
            TagComparison(
                tag,
                RateSummary(Counts.of(p.baseline.case for p in tagged[tag])),
                RateSummary(Counts.of(p.candidate.case for p in tagged[tag])),
                sum(1 for p in tagged[tag] if p.change == "regression"),
                sum(1 for p in tagged[tag] if p.change == "fix"),
            )
            for tag in sorted(tagged)
        )

    def to_dict(self) -> dict[str, Any]:
        def run(summary: RunSummary) -> dict[str, Any]:
            return {
                "run_id": summary.run_id,
                "model": summary.model_label,
                "started_at": summary.started_at,
                "git_sha": summary.git_sha,
                "totals": summary.counts.to_dict(),
            }

        def cases(pairs: Sequence[CasePair]) -> list[dict[str, Any]]:
            return [p.to_dict() for p in pairs]

        def only(found: Sequence[CaseSummary]) -> list[dict[str, Any]]:
            return [c.to_dict() for c in found]

        return {
            "baseline": {**run(self.baseline_run), **self.baseline.to_dict()},
            "candidate": {**run(self.candidate_run), **self.candidate.to_dict()},
            "paired": len(self.pairs),
            "regressions": cases(self.regressions),
            "fixes": cases(self.fixes),
            "undecided": cases(self.undecided),
            "skipped": cases(self.skipped),
            "rate_changes": cases(self.rate_changes),
            "mcnemar": {
                "regressions": len(self.regressions),
                "fixes": len(self.fixes),
                "p_value": self.mcnemar_p,
            },
            "pass_rate_drop": self.pass_rate_drop,
            "paired_test": self.paired_test.to_dict(),
            "confirmation_calls": self.confirmation_calls,
            "latency": {
                "p50_ratio": self.latency_p50_ratio,
                "p95_ratio": self.latency_p95_ratio,
            },
            "cost": self.cost.to_dict(),
            "input_tokens": self.input_tokens.to_dict(),
            "output_tokens": self.output_tokens.to_dict(),
            "by_tag": [t.to_dict() for t in self.by_tag],
            "drift": self.drift.to_dict(),
            "baseline_only": only(self.pairing.baseline_only),
            "candidate_only": only(self.pairing.candidate_only),
            "changed": [c.to_dict() for c in self.pairing.changed],
        }


def compare_results(baseline: ResultsFile, candidate: ResultsFile) -> Comparison:
    """Pair two results files and measure the difference (no verdict yet)."""
    before, after = summarize(baseline), summarize(candidate)
    with gc_paused(freeze=False):  # a pair per case, all living as long as the reports
        pairing = pair_cases(before, after)
        return Comparison(before, after, pairing, measure_drift(pairing.pairs))
