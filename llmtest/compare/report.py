"""Rendering a comparison and its gate: Markdown for a pull request (under GitHub's
65,536-character comment limit), JSON for machines, plain text for a terminal.

Model outputs and case ids are escaped exactly as the run report escapes them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llmtest import __version__
from llmtest._text import plural
from llmtest.compare.account import (
    confirmation_sentence,
    paired_test_sentence,
    regression_counts,
    regression_groups,
    short_list,
)
from llmtest.compare.comparison import Comparison, RateSummary, UsageComparison
from llmtest.compare.confirmation import Confirmation
from llmtest.compare.gate import GateResult, Verdict
from llmtest.compare.pairing import CasePair
from llmtest.reports.format import (
    MISSING,
    format_cost,
    format_count,
    format_ms,
    format_rate,
    format_ratio,
    truncate,
)
from llmtest.reports.markdown import DEFAULT_MAX_CHARS, GITHUB_COMMENT_LIMIT, escape, table
from llmtest.results.summary import CaseSummary, RunSummary

MAX_ROWS = 50
NAMED = 10
"""Flaky regressions and fixes the terminal names before "… and N more"."""
OUTPUT_CHARS = 160
MAX_TAG_ROWS = 50

_ICON = {Verdict.PROMOTE: "✅", Verdict.BLOCKED: "❌", Verdict.CANNOT_DECIDE: "⚠️"}
_STATE_ICON = {"held": "✅ held", "failed": "❌ failed", "not measured": "❔ not measured"}


def verdict_line(comparison: Comparison, gate: GateResult, *, icon: bool = True) -> str:
    mark = f"{_ICON[gate.verdict]} " if icon else ""
    counts = (
        plural(len(comparison.pairs), "paired case"),
        *regression_counts(gate),
        plural(len(comparison.fixes), "fix", "fixes"),
        f"{len(comparison.undecided)} undecided",
    )
    line = f"{mark}llmtest compare: {gate.verdict.value.upper()} — {', '.join(counts)}"
    if gate.verdict is not Verdict.PROMOTE:
        line += f" ({'; '.join(gate.reasons)})"
    return line


def _rate(summary: RateSummary) -> str:
    interval = summary.interval
    rate = format_rate(summary.rate)
    if interval is None:
        return rate
    return f"{rate} [{interval.low * 100:.1f}-{interval.high * 100:.1f}%]"


def _run_label(summary: RunSummary) -> str:
    return f"{escape(summary.model_label)} (run {escape(summary.run_id or '?')})"


def _inline(text: str | None) -> str:
    return MISSING if text is None else escape(truncate(text, OUTPUT_CHARS)) or "(empty)"


def _case_rate(case: CaseSummary) -> str:
    if not case.repeated:
        return case.status
    return f"{case.status} ({case.passed_attempts}/{case.counted_attempts})"


def _pair_table(
    pairs: Sequence[CasePair], confirmations: Sequence[Confirmation] | None = None
) -> list[str]:
    """A row per pair; with ``confirmations`` (one per pair), what re-running showed."""
    rows = []
    for index, p in enumerate(pairs[:MAX_ROWS]):
        row = [
            escape(p.case_id),
            escape(", ".join(p.tags)) or MISSING,
            _case_rate(p.baseline.case),
            _case_rate(p.candidate.case),
        ]
        if confirmations is not None:
            row.append(escape(confirmations[index].describe()))
        rows.append([*row, _inline(p.baseline.output), _inline(p.candidate.output)])
    head = ["Case", "Tags", "Baseline", "Candidate"]
    if confirmations is not None:
        head.append("Confirmation")
    head += ["Baseline output", "Candidate output"]
    lines = table(head, rows, "l" * len(head))
    if len(pairs) > MAX_ROWS:
        lines.append(f"\n… and {len(pairs) - MAX_ROWS} more (see the JSON report).")
    return lines


def _usage_row(label: str, usage: UsageComparison, money: bool) -> list[str]:
    fmt = format_cost if money else format_count
    return [
        label,
        fmt(usage.baseline_per_case),
        fmt(usage.candidate_per_case),
        format_ratio(usage.ratio),
        str(usage.pairs),
    ]


def _case_list(title: str, cases: Sequence[str]) -> list[str]:
    if not cases:
        return []
    shown = ", ".join(cases[:MAX_ROWS])
    more = f" … and {len(cases) - MAX_ROWS} more" if len(cases) > MAX_ROWS else ""
    return [f"**{title}** ({len(cases)}): {shown}{more}", ""]


def _gate_section(gate: GateResult) -> list[str]:
    rows = [
        [r.name, escape(r.threshold), escape(r.measured), _STATE_ICON[r.state], escape(r.reason)]
        for r in gate.rules
    ]
    return [
        "### Gate",
        "",
        *table(["Rule", "Threshold", "Measured", "Result", "Why"], rows, "lrrll"),
        "",
    ]


def _pass_rate_section(c: Comparison, gate: GateResult) -> list[str]:
    rows = [
        [
            "**all**",
            _rate(c.baseline.overall),
            _rate(c.candidate.overall),
            str(len(c.regressions)),
            str(len(c.fixes)),
        ]
    ]
    rows += [
        [escape(t.tag), _rate(t.baseline), _rate(t.candidate), str(t.regressions), str(t.fixes)]
        for t in c.by_tag[:MAX_TAG_ROWS]
    ]
    confirming = confirmation_sentence(c, gate)
    return [
        "### Pass rate (paired cases, 95% Wilson interval)",
        "",
        *table(["Tag", "Baseline", "Candidate", "Regressions", "Fixes"], rows, "lrrrr"),
        "",
        f"{escape(paired_test_sentence(c))} Left out of the test: "
        f"{plural(len(c.undecided), 'undecided pair')} (errored on a side) and "
        f"{plural(len(c.skipped), 'skipped pair')}; errors stay in the pass-rate denominators.",
        "",
        *([escape(confirming), ""] if confirming else []),
    ]


def _changes_sections(c: Comparison, gate: GateResult) -> list[str]:
    """Regressions by what confirmation showed, fixes and undecided pairs, each under its
    heading when there are any."""
    lines: list[str] = []
    icons = {"confirmed": "❌", "not confirmable": "❔", "not confirmed": "〰️"}
    for group in regression_groups(gate):
        lines += [f"### {icons[group.state]} {group.title} ({len(group.pairs)})", ""]
        lines += [*_pair_table(group.pairs, group.confirmations), ""]
    for title, pairs in (
        ("✅ Fixes", c.fixes),
        ("💥 Undecided: errored on a side", c.undecided),
    ):
        if pairs:
            lines += [f"### {title} ({len(pairs)})", "", *_pair_table(pairs), ""]
    if c.rate_changes:
        rows = [
            [
                escape(p.case_id),
                _case_rate(p.baseline.case),
                _case_rate(p.candidate.case),
                f"{(p.pass_rate_delta or 0) * 100:+.0f} points",
            ]
            for p in c.rate_changes[:MAX_ROWS]
        ]
        lines += ["### Repeated cases whose pass rate moved", ""]
        lines += [*table(["Case", "Baseline", "Candidate", "Change"], rows, "lllr"), ""]
    return lines


def _latency_row(
    label: str, before: float | None, after: float | None, change: float | None, pairs: int
) -> list[str]:
    return [label, format_ms(before), format_ms(after), format_ratio(change), str(pairs)]


def _figures_section(c: Comparison) -> list[str]:
    base, cand = c.baseline, c.candidate
    rows = [
        _latency_row(
            "p50 latency", base.latency_p50, cand.latency_p50, c.latency_p50_ratio, len(c.pairs)
        ),
        _latency_row(
            "p95 latency", base.latency_p95, cand.latency_p95, c.latency_p95_ratio, len(c.pairs)
        ),
        _usage_row("input tokens / case", c.input_tokens, False),
        _usage_row("output tokens / case", c.output_tokens, False),
        _usage_row("cost / case", c.cost, True),
    ]
    return [
        "### Latency, tokens and cost (paired cases)",
        "",
        *table(["Figure", "Baseline", "Candidate", "Ratio", "Pairs"], rows, "lrrrr"),
        "",
    ]


def _drift_section(c: Comparison) -> list[str]:
    drift = c.drift
    lines = ["### Output drift", ""]
    if drift.compared:
        lines.append(
            f"Similarity of {plural(drift.compared, 'answer pair')} (rapidfuzz ratio): mean "
            f"{drift.mean or 0:.2f}, p50 {drift.p50 or 0:.2f}, p10 {drift.p10 or 0:.2f}; "
            f"{(drift.share_below or 0) * 100:.1f}% below 0.5."
        )
    else:
        lines.append("No pair has an output on both sides.")
    lines.append("")
    lines += _case_list("JSON before, not after", [escape(p.case_id) for p in drift.lost_json])
    lines += _case_list("JSON after, not before", [escape(p.case_id) for p in drift.gained_json])
    return lines


def _not_compared_section(c: Comparison) -> list[str]:
    pairing = c.pairing
    if not (pairing.baseline_only or pairing.candidate_only or pairing.changed):
        return []
    lines = ["### Not compared", ""]
    for title, cases in (
        ("Only in the baseline", pairing.baseline_only),
        ("Only in the candidate", pairing.candidate_only),
        ("Changed (edited between runs)", pairing.changed),
    ):
        lines += _case_list(title, [escape(x.case_id) for x in cases])
    return lines


def _cut(text: str, max_chars: int) -> str:
    """``text`` cut at a line to ``max_chars`` (never over GitHub's limit), saying so."""
    limit = min(max_chars, GITHUB_COMMENT_LIMIT)
    if len(text) <= limit:
        return text
    note = "\n\n… (report cut to fit; the JSON report has everything)\n"
    return text[: limit - len(note)].rsplit("\n", 1)[0] + note


def render_markdown(
    comparison: Comparison, gate: GateResult, *, max_chars: int = DEFAULT_MAX_CHARS
) -> str:
    """The comparison as Markdown, cut to ``max_chars`` (never over GitHub's limit)."""
    c = comparison
    lines = [
        f"## {verdict_line(c, gate)}",
        "",
        f"Baseline: {_run_label(c.baseline_run)} · Candidate: {_run_label(c.candidate_run)} · "
        f"gate: {escape(gate.policy.source)}",
        "",
        *_gate_section(gate),
        *_pass_rate_section(c, gate),
        *_changes_sections(c, gate),
        *_figures_section(c),
        *_drift_section(c),
        *_not_compared_section(c),
        f"<sub>llmtest {__version__} compare</sub>",
    ]
    return _cut("\n".join(lines) + "\n", max_chars)


def render_terminal(comparison: Comparison, gate: GateResult) -> str:
    """A short plain-text account for a terminal or CI log."""
    c = comparison
    lines = [verdict_line(c, gate, icon=False), ""]
    for rule in gate.rules:
        lines.append(
            f"  {rule.state:<13} {rule.name:<26} {rule.threshold:<12} "
            f"measured {rule.measured}: {rule.reason}"
        )
    lines.append("")
    lines.append(
        f"  pass rate  baseline {_rate(c.baseline.overall)}  candidate {_rate(c.candidate.overall)}"
    )
    lines.append(f"  {paired_test_sentence(c)}")
    confirming = confirmation_sentence(c, gate)
    if confirming:
        lines.append(f"  {confirming}")
    lines.append(
        f"  p95 latency {format_ms(c.baseline.latency_p95)} -> "
        f"{format_ms(c.candidate.latency_p95)} "
        f"({format_ratio(c.latency_p95_ratio)}), cost ratio {format_ratio(c.cost.ratio)}"
    )
    for group in regression_groups(gate):
        if group.state == "not confirmed":  # noise: named, not explained one by one
            lines.append(f"  flaky ({len(group.pairs)}): {short_list(group.pairs, NAMED)}")
            continue
        for known in group.confirmations[:MAX_ROWS]:
            pair = known.pair
            lines.append(f"  {group.kind}: {pair.suite}::{pair.case_id} ({known.describe()})")
    if c.fixes:
        lines.append(f"  fixes ({len(c.fixes)}): {short_list(c.fixes, NAMED)}")
    for pair in c.undecided[:MAX_ROWS]:
        lines.append(f"  undecided: {pair.suite}::{pair.case_id}")
    for title, found in (
        ("baseline only", [x.case_id for x in c.pairing.baseline_only]),
        ("candidate only", [x.case_id for x in c.pairing.candidate_only]),
        ("changed", [x.case_id for x in c.pairing.changed]),
    ):
        if found:
            lines.append(f"  {title} ({len(found)}): {', '.join(found[:MAX_ROWS])}")
    return "\n".join(lines) + "\n"


def comparison_dict(comparison: Comparison, gate: GateResult) -> dict[str, Any]:
    return {"llmtest_version": __version__, "gate": gate.to_dict(), **comparison.to_dict()}


def render_json(comparison: Comparison, gate: GateResult) -> str:
    return json.dumps(comparison_dict(comparison, gate), indent=2, ensure_ascii=False) + "\n"
