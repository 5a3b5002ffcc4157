"""The words every comparison report uses for the statistics, so the terminal, Markdown,
HTML and JUnit never tell the paired test or a regression's confirmation differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmtest._text import plural
from llmtest.compare.comparison import Comparison
from llmtest.compare.confirmation import Confirmation, State
from llmtest.compare.gate import GateResult
from llmtest.compare.pairing import CasePair


@dataclass(frozen=True)
class RegressionGroup:
    """Regressions sharing a confirmation state, under the title a report gives them."""

    state: State
    title: str
    kind: str
    """What one of them is called on its own ("confirmed regression")."""
    confirmations: tuple[Confirmation, ...]

    @property
    def pairs(self) -> tuple[CasePair, ...]:
        return tuple(c.pair for c in self.confirmations)


_GROUPS: tuple[tuple[State, str, str], ...] = (
    ("confirmed", "Confirmed regressions", "confirmed regression"),
    ("not confirmable", "Regressions that could not be confirmed", "unconfirmed regression"),
    ("not confirmed", "Flaky: pass→fail, not confirmed", "flaky"),
)


def regression_groups(gate: GateResult) -> list[RegressionGroup]:
    """The regressions by what is known about them, real ones first; empty groups left out."""
    groups = [
        RegressionGroup(state, title, kind, gate.by_state(state)) for state, title, kind in _GROUPS
    ]
    return [g for g in groups if g.confirmations]


def regression_counts(gate: GateResult) -> list[str]:
    """ "1 confirmed regression, 37 flaky" — the regressions counted as the verdict line says
    them."""
    counts = {state: len(gate.by_state(state)) for state, _, _ in _GROUPS}
    if not gate.confirmations:
        return ["0 regressions"]
    parts = []
    if counts["confirmed"] or not counts["not confirmable"]:
        parts.append(plural(counts["confirmed"], "confirmed regression"))
    if counts["not confirmable"]:
        parts.append(plural(counts["not confirmable"], "unconfirmed regression"))
    if counts["not confirmed"]:
        parts.append(f"{counts['not confirmed']} flaky")
    return parts


def paired_test_sentence(comparison: Comparison) -> str:
    test = comparison.paired_test
    if test.drop is None:
        return "Paired test: no judged pair (neither side errored nor skipped)."
    direction = (
        f"a drop of {test.drop * 100:.1f} points"
        if test.drop > 0
        else f"a change of {-test.drop * 100:+.1f} points"
    )
    return (
        f"Paired test ({test.method}) over {plural(test.pairs, 'judged pair')}, "
        f"{test.changed} of them different ({len(comparison.regressions)} pass→fail, "
        f"{len(comparison.fixes)} fail→pass): {direction}, p = {test.p_value:.4g} "
        "(the chance of a drop at least this large if nothing changed)."
    )


def confirmation_sentence(comparison: Comparison, gate: GateResult) -> str | None:
    """How the regressions were confirmed, or why they could not be; None without any."""
    found = gate.confirmations
    if not found:
        return None
    calls = comparison.confirmation_calls
    sources = {c.source for c in found}
    if calls:
        own = comparison.baseline_run.attempts_run + comparison.candidate_run.attempts_run
        how = (
            f"re-ran {plural(len(found), 'regression')} on both models with "
            f"{plural(calls, 'extra attempt')} ({calls / max(1, own) * 100:.1f}% of the runs' "
            f"{own})"
        )
    elif sources == {None}:
        how = (
            f"could not confirm {plural(len(found), 'regression')}: no model to re-run them "
            "(`llmtest canary` does) and one attempt a side"
        )
    else:
        how = f"judged {plural(len(found), 'regression')} on their recorded attempts"
    wanted = set(gate.policy.block_on_tags)
    tagged = [c for c in found if wanted & set(c.pair.tags)]
    others = [c for c in found if not wanted & set(c.pair.tags)]
    alpha = gate.policy.significance
    shares = []
    for group, where, among in (
        (tagged, "in a blocking tag", tagged),
        (others, "elsewhere", found),
    ):
        if group:
            share = f" ({alpha:g} shared among {len(among)})" if len(among) > 1 else ""
            shares.append(f"p < {group[0].level:.3g} {where}{share}")
    return (
        f"Confirmation: {how}. A regression is confirmed when the candidate is significantly "
        f"worse on the fresh attempts (one-sided Fisher exact test; {', '.join(shares)})."
    )


def short_list(pairs: Sequence[CasePair], limit: int) -> str:
    names = [p.case_id for p in pairs[:limit]]
    more = f" … and {len(pairs) - limit} more" if len(pairs) > limit else ""
    return ", ".join(names) + more
