"""A self-contained HTML page of a comparison: the gate, the pass rates, and every
regression and fix with both answers side by side and a word diff between them.

Same rules as the run report (llmtest/reports/html.py): every value from a results file is
escaped, and the Content-Security-Policy allows no script, network or external resource.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from llmtest import __version__
from llmtest.compare.comparison import Comparison, RateSummary
from llmtest.compare.gate import GateResult, Verdict
from llmtest.compare.pairing import CasePair
from llmtest.compare.report import verdict_line
from llmtest.reports.html import CSP, STYLE, e
from llmtest.reports.summary import MISSING, format_cost, format_ms, format_rate, truncate

OUTPUT_CHARS = 8000
MAX_CASES = 200
DIFF_WORDS = 3000

COMPARE_STYLE = """
table.grid { border-collapse:collapse; width:100%; font-size:.9rem; margin:6px 0; }
table.grid th, table.grid td { border-bottom:1px solid var(--line); padding:5px 8px;
  text-align:left; vertical-align:top; overflow-wrap:anywhere; }
.held { color:var(--pass); font-weight:600; } .failed { color:var(--fail); font-weight:600; }
.unmeasured { color:var(--muted); font-weight:600; }
.sides { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
.diff { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 10px;
  white-space:pre-wrap; word-break:break-word; font-size:.85rem; }
.diff del { background:#ffebe9; color:#82071e; } .diff ins { background:#dafbe1; color:#116329;
  text-decoration:none; }
.pair { border:1px solid var(--line); border-radius:8px; margin:8px 0; padding:6px 12px; }
.pair > summary { cursor:pointer; font-weight:600; }
"""

_STATE_CLASS = {"held": "held", "failed": "failed", "not measured": "unmeasured"}
_VERDICT_CLASS = {Verdict.PROMOTE: "ok", Verdict.BLOCKED: "bad", Verdict.CANNOT_DECIDE: "none"}


def word_diff(before: str, after: str) -> str:
    """An inline diff by words, escaped: removed words in ``<del>``, added in ``<ins>``."""
    old, new = before.split(" ")[:DIFF_WORDS], after.split(" ")[:DIFF_WORDS]
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(e(" ".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{e(' '.join(old[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{e(' '.join(new[j1:j2]))}</ins>")
    return " ".join(parts)


def _rate(summary: RateSummary) -> str:
    interval = summary.interval
    text = format_rate(summary.rate)
    if interval is not None:
        text += f" [{interval.low * 100:.1f}-{interval.high * 100:.1f}%]"
    return e(text)


def _pair(pair: CasePair, kind: str) -> str:
    before = pair.baseline.output or ""
    after = pair.candidate.output or ""
    tags = "".join(f'<span class="tag">{e(t)}</span>' for t in pair.tags)
    rates = ""
    if pair.baseline.case.repeated or pair.candidate.case.repeated:
        rates = (
            f" · pass rate {format_rate(pair.baseline.case.pass_rate)} → "
            f"{format_rate(pair.candidate.case.pass_rate)}"
        )
    return f"""<details class="pair" open>
<summary>{e(kind)}: {e(pair.case_id)} <span class="muted">{e(pair.suite)}</span> {tags}</summary>
<p class="facts">{e(pair.baseline.status)} → {e(pair.candidate.status)}{e(rates)}</p>
<div class="sides">
<div><div class="label">Baseline</div><pre>{e(truncate(before, OUTPUT_CHARS))}</pre></div>
<div><div class="label">Candidate</div><pre>{e(truncate(after, OUTPUT_CHARS))}</pre></div>
</div>
<div class="label">Diff</div>
<div class="diff">{word_diff(truncate(before, OUTPUT_CHARS), truncate(after, OUTPUT_CHARS))}</div>
</details>"""


def _pairs(title: str, kind: str, pairs: Sequence[CasePair]) -> str:
    if not pairs:
        return ""
    more = (
        f'<p class="empty">… and {len(pairs) - MAX_CASES} more (see the JSON report).</p>'
        if len(pairs) > MAX_CASES
        else ""
    )
    body = "\n".join(_pair(p, kind) for p in pairs[:MAX_CASES])
    return f"<h2>{e(title)} ({len(pairs)})</h2>\n{body}\n{more}"


def _names(title: str, names: Sequence[str]) -> str:
    if not names:
        return ""
    return f"<p><strong>{e(title)}</strong> ({len(names)}): {e(', '.join(names))}</p>"


def render_html(comparison: Comparison, gate: GateResult) -> str:
    c = comparison
    headline = e(verdict_line(c, gate, icon=False))

    rules = "".join(
        f"<tr><td>{e(r.name)}</td><td>{e(r.threshold)}</td><td>{e(r.measured)}</td>"
        f'<td class="{_STATE_CLASS[r.state]}">{e(r.state)}</td><td>{e(r.reason)}</td></tr>'
        for r in gate.rules
    )
    tags = "".join(
        f"<tr><td>{e(t.tag)}</td><td>{_rate(t.baseline)}</td><td>{_rate(t.candidate)}</td>"
        f"<td>{t.regressions}</td><td>{t.fixes}</td></tr>"
        for t in c.by_tag
    )
    figures = [
        (
            "p50 latency",
            format_ms(c.baseline.latency_p50),
            format_ms(c.candidate.latency_p50),
            c.latency_p50_ratio,
        ),
        (
            "p95 latency",
            format_ms(c.baseline.latency_p95),
            format_ms(c.candidate.latency_p95),
            c.latency_p95_ratio,
        ),
        (
            "cost / case",
            format_cost(c.cost.baseline_per_case),
            format_cost(c.cost.candidate_per_case),
            c.cost.ratio,
        ),
    ]
    figure_rows = "".join(
        f"<tr><td>{e(name)}</td><td>{e(b)}</td><td>{e(a)}</td>"
        f"<td>{MISSING if r is None else f'{r:.2f}x'}</td></tr>"
        for name, b, a, r in figures
    )
    drift = c.drift
    drift_text = (
        f"{drift.compared} answer pairs: mean similarity {drift.mean or 0:.2f}, "
        f"p50 {drift.p50 or 0:.2f}, p10 {drift.p10 or 0:.2f}, "
        f"{(drift.share_below or 0) * 100:.1f}% below 0.5"
        if drift.compared
        else "no pair has an output on both sides"
    )
    pairing = c.pairing
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>llmtest compare · {e(c.baseline_run.model_label)} → {e(c.candidate_run.model_label)}</title>
<style>{STYLE}{COMPARE_STYLE}</style>
</head>
<body>
<header><h1>llmtest compare</h1>
<p class="meta">baseline {e(c.baseline_run.model_label)} (run {e(c.baseline_run.run_id)}) →
candidate {e(c.candidate_run.model_label)} (run {e(c.candidate_run.run_id)}) ·
gate: {e(gate.policy.source)}</p></header>
<section class="verdict {_VERDICT_CLASS[gate.verdict]}">{headline}</section>
<h2>Gate</h2>
<table class="grid"><tr><th>Rule</th><th>Threshold</th><th>Measured</th><th>Result</th>
<th>Why</th></tr>{rules}</table>
<h2>Pass rate (paired cases, 95% Wilson interval)</h2>
<table class="grid"><tr><th>Tag</th><th>Baseline</th><th>Candidate</th><th>Regressions</th>
<th>Fixes</th></tr><tr><td><strong>all</strong></td><td>{_rate(c.baseline.overall)}</td>
<td>{_rate(c.candidate.overall)}</td><td>{len(c.regressions)}</td><td>{len(c.fixes)}</td></tr>
{tags}</table>
<p>McNemar exact test: {len(c.regressions)} pass→fail, {len(c.fixes)} fail→pass,
p = {c.mcnemar_p:.4g}; {len(c.undecided)} undecided (errored) pairs left out.</p>
<h2>Latency and cost</h2>
<table class="grid"><tr><th>Figure</th><th>Baseline</th><th>Candidate</th><th>Ratio</th></tr>
{figure_rows}</table>
<h2>Output drift</h2><p>{e(drift_text)}</p>
{_names("JSON before, not after", [p.case_id for p in drift.lost_json])}
{_names("JSON after, not before", [p.case_id for p in drift.gained_json])}
{_pairs("Regressions", "regression", c.regressions)}
{_pairs("Fixes", "fix", c.fixes)}
{_pairs("Undecided (errored on a side)", "undecided", c.undecided)}
{_names("Only in the baseline", [x.case_id for x in pairing.baseline_only])}
{_names("Only in the candidate", [x.case_id for x in pairing.candidate_only])}
{_names("Changed (edited between runs)", [x.case_id for x in pairing.changed])}
<footer>Generated by llmtest {e(__version__)} compare.</footer>
</body>
</html>
"""
