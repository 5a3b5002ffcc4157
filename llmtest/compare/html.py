"""A self-contained HTML page of a comparison: the gate, the pass rates, and every
regression and fix with both answers side by side and a word diff between them.

Same rules as the run report (llmtest/reports/html.py): the page is
``templates/compare.html.j2``, extending the run report's ``base.html.j2``, rendered with
autoescaping, and its Content-Security-Policy allows no script, network or external resource.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmtest import __version__
from llmtest._text import plural
from llmtest.compare.account import (
    RegressionGroup,
    confirmation_sentence,
    paired_test_sentence,
    regression_groups,
)
from llmtest.compare.comparison import Comparison, RateSummary
from llmtest.compare.confirmation import Confirmation
from llmtest.compare.drift import DriftSummary
from llmtest.compare.gate import GateResult, Verdict
from llmtest.compare.pairing import CasePair
from llmtest.compare.report import verdict_line
from llmtest.reports._templates import render
from llmtest.reports.format import format_cost, format_ms, format_rate, truncate

if TYPE_CHECKING:
    from markupsafe import Markup

OUTPUT_CHARS = 8000
MAX_CASES = 200
DIFF_WORDS = 3000

_STATE_CLASS = {"held": "held", "failed": "failed", "not measured": "unmeasured"}
_VERDICT_CLASS = {Verdict.PROMOTE: "ok", Verdict.BLOCKED: "bad", Verdict.CANNOT_DECIDE: "none"}


def word_diff(before: str, after: str) -> Markup:
    """An inline diff by words: removed words in ``<del>``, added in ``<ins>``, every word
    escaped (``Markup.format`` and ``Markup.join`` escape what they are given)."""
    from markupsafe import Markup

    old, new = before.split(" ")[:DIFF_WORDS], after.split(" ")[:DIFF_WORDS]
    parts: list[Markup | str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(" ".join(old[i1:i2]))
            continue
        if i2 > i1:
            parts.append(Markup("<del>{}</del>").format(" ".join(old[i1:i2])))
        if j2 > j1:
            parts.append(Markup("<ins>{}</ins>").format(" ".join(new[j1:j2])))
    return Markup(" ").join(parts)


def rate_with_interval(summary: RateSummary) -> str:
    """``80.0% [37.6-96.4%]``: the pass rate and its 95% Wilson interval when it has one."""
    interval = summary.interval
    text = format_rate(summary.rate)
    if interval is not None:
        text += f" [{interval.low * 100:.1f}-{interval.high * 100:.1f}%]"
    return text


@dataclass(frozen=True)
class Figure:
    """A row of the latency and cost table."""

    name: str
    baseline: str
    candidate: str
    ratio: float | None


def _figures(c: Comparison) -> list[Figure]:
    return [
        Figure(
            "p50 latency",
            format_ms(c.baseline.latency_p50),
            format_ms(c.candidate.latency_p50),
            c.latency_p50_ratio,
        ),
        Figure(
            "p95 latency",
            format_ms(c.baseline.latency_p95),
            format_ms(c.candidate.latency_p95),
            c.latency_p95_ratio,
        ),
        Figure(
            "cost / case",
            format_cost(c.cost.baseline_per_case),
            format_cost(c.cost.candidate_per_case),
            c.cost.ratio,
        ),
    ]


def _drift_text(drift: DriftSummary) -> str:
    if not drift.compared:
        return "no pair has an output on both sides"
    return (
        f"{plural(drift.compared, 'answer pair')}: mean similarity {drift.mean or 0:.2f}, "
        f"p50 {drift.p50 or 0:.2f}, p10 {drift.p10 or 0:.2f}, "
        f"{(drift.share_below or 0) * 100:.1f}% below 0.5"
    )


@dataclass(frozen=True)
class PairView:
    """A pair as the page shows it: both answers, cut to size, and the diff between them."""

    pair: CasePair
    before: str
    after: str
    diff: Markup
    confirmation: str | None = None
    """What re-running a regression showed."""


def _pair_view(pair: CasePair, confirmation: Confirmation | None = None) -> PairView:
    before = truncate(pair.baseline.output or "", OUTPUT_CHARS)
    after = truncate(pair.candidate.output or "", OUTPUT_CHARS)
    shown = None if confirmation is None else confirmation.describe()
    return PairView(pair, before, after, word_diff(before, after), shown)


@dataclass(frozen=True)
class PairSection:
    """Regressions, fixes or undecided pairs: the first ``MAX_CASES`` shown, the rest
    counted (the JSON report has them all)."""

    title: str
    kind: str
    total: int
    shown: tuple[PairView, ...]

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


def _section(title: str, kind: str, pairs: Sequence[CasePair]) -> PairSection:
    return PairSection(title, kind, len(pairs), tuple(_pair_view(p) for p in pairs[:MAX_CASES]))


def _regression_section(group: RegressionGroup) -> PairSection:
    shown = tuple(_pair_view(c.pair, c) for c in group.confirmations[:MAX_CASES])
    return PairSection(group.title, group.kind, len(group.confirmations), shown)


def render_html(comparison: Comparison, gate: GateResult) -> str:
    """The page of a comparison and its gate's verdict."""
    c = comparison
    return render(
        "llmtest.compare",
        "compare.html.j2",
        c=c,
        gate=gate,
        verdict_class=_VERDICT_CLASS[gate.verdict],
        verdict=verdict_line(c, gate, icon=False),
        state_class=_STATE_CLASS,
        rate_with_interval=rate_with_interval,
        figures=_figures(c),
        drift_text=_drift_text(c.drift),
        json_changes=[
            ("JSON before, not after", [p.case_id for p in c.drift.lost_json]),
            ("JSON after, not before", [p.case_id for p in c.drift.gained_json]),
        ],
        paired_test=paired_test_sentence(c),
        confirmation=confirmation_sentence(c, gate),
        sections=[
            *(_regression_section(group) for group in regression_groups(gate)),
            _section("Fixes", "fix", c.fixes),
            _section("Undecided (errored on a side)", "undecided", c.undecided),
        ],
        unpaired=[
            ("Only in the baseline", [x.case_id for x in c.pairing.baseline_only]),
            ("Only in the candidate", [x.case_id for x in c.pairing.candidate_only]),
            ("Changed (edited between runs)", [x.case_id for x in c.pairing.changed]),
        ],
        version=__version__,
    )
