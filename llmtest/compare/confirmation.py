"""Regression confirmation: telling a case the candidate really broke from a flaky case
that happened to pass on one side and fail on the other.

A nondeterministic model gives every no-change run dozens of pass→fail flips. Each
regression is therefore re-run on both models (``confirm_attempts`` more attempts each,
candidate first) and counts as *confirmed* only when the fresh attempts show the
candidate significantly worse: a one-sided Fisher exact test on the fresh attempts alone
(the attempt that made it a regression chose it, so it is left out), at the gate's
``significance`` shared among the regressions tested (Bonferroni): the chance that any
no-change flip is confirmed stays below ``significance``. Regressions in blocking tags
share it among themselves only, so a break there needs fewer attempts to show.

Re-running stops early once confirmation is out of reach (the candidate passed, or the
baseline failed, too often for even a perfect rest to be significant); that only ever
stops a test that could not have confirmed, so the level holds. Where no model can be
called (``llmtest compare`` of two files), a case repeated on both sides is judged on its
recorded attempts; otherwise it cannot be confirmed, and the history says whether the
case is known to be flaky with the baseline model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llmtest.compare.pairing import CaseKey, CasePair
from llmtest.compare.stats import fisher_one_sided
from llmtest.results.history import FlakyCase
from llmtest.results.record import CaseResult

Side = Literal["baseline", "candidate"]
State = Literal["confirmed", "not confirmed", "not confirmable"]
Source = Literal["re-run", "recorded attempts"]

DEFAULT_CONFIRM_ATTEMPTS = 4
"""Fresh attempts per side, at the least: a case that always passed and now always fails
shows p = 1/70 = 0.014 on 4 + 4, under 0.05 shared by up to three regressions tested."""
MAX_CONFIRM_ATTEMPTS = 20
"""Fresh attempts per side, at the most, however many regressions share the level."""


def attempts_needed(level: float, minimum: int) -> int:
    """Attempts per side that let a perfect split (all baseline pass, all candidate fail)
    reach ``level``: at least ``minimum``, at most :data:`MAX_CONFIRM_ATTEMPTS`."""
    attempts = max(1, minimum)
    while (
        attempts < MAX_CONFIRM_ATTEMPTS
        and fisher_one_sided(attempts, attempts, 0, attempts) >= level
    ):
        attempts += 1
    return attempts


@dataclass(frozen=True)
class Evidence:
    """Attempts of one case on each side that ran and were judged (errors left out)."""

    baseline_passed: int
    baseline_attempts: int
    candidate_passed: int
    candidate_attempts: int

    @classmethod
    def of(cls, baseline: Sequence[CaseResult], candidate: Sequence[CaseResult]) -> Evidence:
        def judged(results: Sequence[CaseResult]) -> tuple[int, int]:
            decided = [r for r in results if r.status in ("pass", "fail")]
            return sum(1 for r in decided if r.status == "pass"), len(decided)

        return cls(*judged(baseline), *judged(candidate))

    @property
    def p_value(self) -> float:
        return fisher_one_sided(
            self.baseline_passed,
            self.baseline_attempts,
            self.candidate_passed,
            self.candidate_attempts,
        )

    def describe(self) -> str:
        return (
            f"baseline {self.baseline_passed}/{self.baseline_attempts}, "
            f"candidate {self.candidate_passed}/{self.candidate_attempts} passed"
        )


@dataclass(frozen=True)
class Confirmation:
    """What is known about one regression: real, noise, or not known."""

    pair: CasePair
    level: float
    """The p-value under which it counts as confirmed."""
    evidence: Evidence | None
    source: Source | None
    known_flaky: FlakyCase | None = None
    """The baseline model's history of the case, when that history calls it flaky."""

    @property
    def state(self) -> State:
        if self.evidence is None:
            return "not confirmable"
        return (
            "confirmed"
            if self.p_value is not None and self.p_value < self.level
            else "not confirmed"
        )

    @property
    def p_value(self) -> float | None:
        return None if self.evidence is None else self.evidence.p_value

    @property
    def confirmed(self) -> bool:
        return self.state == "confirmed"

    def describe(self) -> str:
        """One line for a report: the attempts, the test, and the history."""
        if self.evidence is None:
            text = "not confirmable (no model to re-run and one attempt a side)"
        else:
            p = self.p_value
            assert p is not None
            relation = "<" if p < self.level else "≥"
            text = (
                f"{self.source}: {self.evidence.describe()}, "
                f"p = {p:.3g} {relation} {self.level:.3g}"
            )
        if self.known_flaky is not None:
            flaky = self.known_flaky
            text += (
                f"; flaky with the baseline model in the history ({flaky.passed} of "
                f"{flaky.runs} runs passed, {flaky.flips} flips)"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        evidence = self.evidence
        return {
            "suite": self.pair.suite,
            "case_id": self.pair.case_id,
            "state": self.state,
            "source": self.source,
            "level": self.level,
            "p_value": self.p_value,
            "baseline": None
            if evidence is None
            else {"passed": evidence.baseline_passed, "attempts": evidence.baseline_attempts},
            "candidate": None
            if evidence is None
            else {"passed": evidence.candidate_passed, "attempts": evidence.candidate_attempts},
            "known_flaky": None if self.known_flaky is None else self.known_flaky.to_dict(),
        }


def confirmation_levels(
    regressions: Sequence[CasePair], significance: float, blocking_tags: Sequence[str]
) -> dict[CaseKey, float]:
    """Each regression's level: ``significance`` over the number of regressions in its
    family (those in a blocking tag, or all of them)."""
    wanted = set(blocking_tags)
    tagged = [p for p in regressions if wanted & set(p.tags)]
    levels = {p.key: significance / len(regressions) for p in regressions}
    levels.update({p.key: significance / len(tagged) for p in tagged})
    return levels


def assess(
    regressions: Sequence[CasePair],
    levels: Mapping[CaseKey, float],
    known_flaky: Mapping[tuple[str, str, str, str], FlakyCase],
) -> tuple[Confirmation, ...]:
    """Every regression with its evidence: the confirmation attempts in the results files
    (a canary wrote them), else the recorded attempts of a case repeated on both sides."""
    found = []
    for pair in regressions:
        before, after = pair.baseline.case, pair.candidate.case
        evidence: Evidence | None = None
        source: Source | None = None
        if before.confirmations or after.confirmations:
            # One side alone when re-running stopped early: the candidate passed at once.
            evidence, source = Evidence.of(before.confirmations, after.confirmations), "re-run"
        elif before.counted_attempts > 1 and after.counted_attempts > 1:
            evidence, source = Evidence.of(before.attempts, after.attempts), "recorded attempts"
        flaky = known_flaky.get((before.model, *pair.key))
        found.append(Confirmation(pair, levels[pair.key], evidence, source, flaky))
    return tuple(found)


Runner = Callable[[Sequence[tuple[CasePair, Side, int]]], Sequence[CaseResult]]
"""Runs one attempt per request (the pair, the side, the attempt number) on that side's
model and returns the judged results in any order."""


@dataclass
class _Tracker:
    pair: CasePair
    level: float
    attempts: int
    results: dict[Side, list[CaseResult]] = field(
        default_factory=lambda: {"baseline": [], "candidate": []}
    )
    spent: dict[Side, int] = field(default_factory=lambda: {"baseline": 0, "candidate": 0})
    """Attempts asked for on each side (an attempt that came back errored counts too)."""

    def next_attempt(self, side: Side) -> int:
        """Fresh attempt numbers follow the case's own on that side."""
        case = getattr(self.pair, side).case
        first = max((a.attempt for a in case.attempts), default=-1) + 1
        return first + self.spent[side]

    def wants(self, side: Side) -> bool:
        return self.spent[side] < self.attempts

    def still_possible(self) -> bool:
        """Whether the best outcome of the attempts left (every baseline attempt passes,
        every candidate attempt fails) would still be significant."""
        now = Evidence.of(self.results["baseline"], self.results["candidate"])
        left_b = self.attempts - self.spent["baseline"]
        left_c = self.attempts - self.spent["candidate"]
        best = fisher_one_sided(
            now.baseline_passed + left_b,
            now.baseline_attempts + left_b,
            now.candidate_passed,
            now.candidate_attempts + left_c,
        )
        return best < self.level


def confirm_regressions(
    regressions: Sequence[CasePair],
    levels: Mapping[CaseKey, float],
    minimum_attempts: int,
    run: Runner,
) -> int:
    """Re-run the regressions round by round (every open case's candidate attempt at once,
    then its baseline attempt), dropping each case as soon as it can no longer confirm;
    return the calls made. The runner writes the results where :func:`assess` finds them."""
    open_cases = [
        _Tracker(p, levels[p.key], attempts_needed(levels[p.key], minimum_attempts))
        for p in regressions
    ]
    calls = 0
    sides: tuple[Side, Side] = ("candidate", "baseline")
    while open_cases:
        for side in sides:
            batch = [t for t in open_cases if t.wants(side)]
            if not batch:
                continue
            by_key = {t.pair.key: t for t in batch}
            requests = [(t.pair, side, t.next_attempt(side)) for t in batch]
            for tracker in batch:
                tracker.spent[side] += 1
            for result in run(requests):
                answered = by_key.get((result.suite, result.case_id, result.case_hash))
                if answered is not None:
                    answered.results[side].append(result)
            calls += len(requests)
            open_cases = [t for t in open_cases if t.still_possible()]
        open_cases = [t for t in open_cases if t.wants("candidate") or t.wants("baseline")]
    return calls
