"""Pairing two runs case by case: a difference between models only means something for the
same case at the same version, so cases are matched on (suite, case id, case hash) and
everything else is listed, never guessed at."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from llmtest.errors import LLMTestError
from llmtest.results.record import Status
from llmtest.results.summary import CaseSummary, RunSummary

CaseKey = tuple[str, str, str]
"""(suite, case id, case hash)."""

Change = Literal["regression", "fix", "still-pass", "still-fail", "undecided", "skipped"]


@dataclass(frozen=True)
class SideCase:
    """One side of a pair: the case's verdict and the figures compared."""

    case: CaseSummary

    @property
    def status(self) -> Status:
        return self.case.status

    @property
    def output(self) -> str | None:
        """The first attempt's output: both sides show the same attempt number."""
        return self.case.attempts[0].output if self.case.attempts else None

    def to_dict(self) -> dict[str, Any]:
        case = self.case
        return {
            "status": case.status,
            "model": case.model,
            "attempts": len(case.attempts),
            "passed_attempts": case.passed_attempts,
            "pass_rate": case.pass_rate,
            "min_pass_rate": case.min_pass_rate,
            "output": self.output,
            "latency_ms": case.latency_ms,
            "input_tokens": case.input_tokens,
            "output_tokens": case.output_tokens,
            "cost_usd": case.cost_usd,
            "errors": case.errors,
        }


@dataclass(frozen=True)
class CasePair:
    """The same case at the same version, once in each run."""

    baseline: SideCase
    candidate: SideCase

    @property
    def key(self) -> CaseKey:
        case = self.baseline.case
        return (case.suite, case.case_id, case.case_hash)

    @property
    def suite(self) -> str:
        return self.baseline.case.suite

    @property
    def case_id(self) -> str:
        return self.baseline.case.case_id

    @property
    def tags(self) -> tuple[str, ...]:
        """Both sides' tags: a tag added or dropped between runs still counts."""
        return tuple(dict.fromkeys((*self.baseline.case.tags, *self.candidate.case.tags)))

    @cached_property
    def change(self) -> Change:
        before, after = self.baseline.status, self.candidate.status
        if "error" in (before, after):
            return "undecided"
        if "skip" in (before, after):
            return "skipped"
        if before == after:
            return "still-pass" if before == "pass" else "still-fail"
        return "regression" if before == "pass" else "fix"

    @property
    def pass_rate_delta(self) -> float | None:
        """Candidate minus baseline per-case pass rate (meaningful for repeated cases)."""
        before, after = self.baseline.case.pass_rate, self.candidate.case.pass_rate
        return None if before is None or after is None else after - before

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "case_id": self.case_id,
            "case_hash": self.key[2],
            "tags": list(self.tags),
            "change": self.change,
            "pass_rate_delta": self.pass_rate_delta,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
        }


@dataclass(frozen=True)
class ChangedCase:
    """A case id present in both runs but at different versions (the case was edited)."""

    suite: str
    case_id: str
    baseline_hashes: tuple[str, ...]
    candidate_hashes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "case_id": self.case_id,
            "baseline_hashes": list(self.baseline_hashes),
            "candidate_hashes": list(self.candidate_hashes),
        }


@dataclass(frozen=True)
class Pairing:
    pairs: tuple[CasePair, ...]
    baseline_only: tuple[CaseSummary, ...]
    candidate_only: tuple[CaseSummary, ...]
    changed: tuple[ChangedCase, ...]


def _index(summary: RunSummary, side: str) -> dict[CaseKey, CaseSummary]:
    found: dict[CaseKey, CaseSummary] = {}
    for case in summary.cases:
        key = (case.suite, case.case_id, case.case_hash)
        if key in found:
            raise LLMTestError(
                f"the {side} run holds case {case.case_id!r} of {case.suite} for more than one "
                f"model ({found[key].model}, {case.model}); compare the run of one model with "
                "the run of another"
            )
        found[key] = case
    return found


def _by_id(keys: Iterable[CaseKey]) -> dict[tuple[str, str], list[str]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for suite, case_id, case_hash in keys:
        grouped.setdefault((suite, case_id), []).append(case_hash)
    return grouped


def pair_cases(baseline: RunSummary, candidate: RunSummary) -> Pairing:
    """Pairs in the baseline's order; one-side-only and changed cases kept apart.

    A case id with a hash on both sides is paired at that hash; an id whose hashes share
    nothing is "changed"; any other hash of it is one-side-only.
    """
    before = _index(baseline, "baseline")
    after = _index(candidate, "candidate")
    pairs = tuple(
        CasePair(SideCase(case), SideCase(after[key]))
        for key, case in before.items()
        if key in after
    )
    before_ids = _by_id(k for k in before if k not in after)
    after_ids = _by_id(k for k in after if k not in before)
    paired_ids = {(p.suite, p.case_id) for p in pairs}
    changed_ids = {ident for ident in before_ids if ident in after_ids and ident not in paired_ids}
    changed = tuple(
        ChangedCase(ident[0], ident[1], tuple(before_ids[ident]), tuple(after_ids[ident]))
        for ident in before_ids
        if ident in changed_ids
    )
    baseline_only = tuple(
        case for key, case in before.items() if key not in after and key[:2] not in changed_ids
    )
    candidate_only = tuple(
        case for key, case in after.items() if key not in before and key[:2] not in changed_ids
    )
    return Pairing(pairs, baseline_only, candidate_only, changed)
