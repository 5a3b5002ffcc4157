"""One self-contained HTML page per run, to attach to a CI job or open from disk.

Model outputs are hostile input: every value read from the results file goes through
:func:`html.escape`, and the page's Content-Security-Policy allows no script, no network and
no external resource, so a page that slipped could still run nothing. Filters and
expandable cases are plain CSS (radio buttons and ``<details>``), not JavaScript.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from llmtest import __version__
from llmtest.reports._files import write_report
from llmtest.reports.summary import (
    CaseSummary,
    LatencySummary,
    Record,
    RunSummary,
    TagSummary,
    as_number,
    format_cost,
    format_count,
    format_ms,
    format_rate,
    format_score,
    record_assertions,
    record_status,
    record_usage,
    summarize,
    truncate,
    verdict,
)
from llmtest.results.jsonl import ResultsFile

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
OUTPUT_CHARS = 20_000
MAX_TAG_BARS = 40
_STATUS_ORDER = {"error": 0, "fail": 1, "pass": 2, "skip": 3}

STYLE = """
:root { --pass:#1a7f37; --fail:#cf222e; --error:#bc4c00; --skip:#6e7781; --line:#d0d7de;
  --muted:#57606a; --bg:#f6f8fa; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  color:#1f2328; }
body { margin:0 auto; max-width:1200px; padding:24px; }
h1 { font-size:1.5rem; margin:0 0 4px; }
h2 { font-size:1.15rem; margin:28px 0 10px; }
.meta { display:flex; flex-wrap:wrap; gap:4px 18px; margin:0; color:var(--muted);
  font-size:.9rem; }
.meta dt { display:inline; font-weight:600; }
.meta dd { display:inline; margin:0 0 0 4px; }
.verdict { margin:18px 0; padding:12px 16px; border-radius:8px; font-size:1.1rem;
  font-weight:600; border:1px solid; }
.verdict.ok { background:#dafbe1; border-color:#4ac26b; }
.verdict.ok::before { content:"\\2714  "; color:var(--pass); }
.verdict.bad::before { content:"\\2718  "; color:var(--fail); }
.verdict.bad { background:#ffebe9; border-color:#ff8182; }
.verdict.none { background:#fff8c5; border-color:#d4a72c; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(130px,1fr)); gap:10px; }
.card { background:var(--bg); border:1px solid var(--line); border-radius:8px;
  padding:10px 12px; }
.card .label { display:block; color:var(--muted); font-size:.8rem; }
.card .value { display:block; font-size:1.3rem; font-weight:600; margin-top:2px; }
.card.pass .value { color:var(--pass); } .card.fail .value { color:var(--fail); }
.card.error .value { color:var(--error); }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:16px; }
figure { margin:0; border:1px solid var(--line); border-radius:8px; padding:12px; }
figcaption { font-weight:600; margin-bottom:8px; }
svg { width:100%; height:auto; font-size:12px; }
svg text { fill:#1f2328; } svg .muted { fill:var(--muted); }
.empty { color:var(--muted); }
.filters { margin:0 0 10px; }
.cases > input[name=filter] { position:absolute; opacity:0; pointer-events:none; }
.filters label { display:inline-block; padding:4px 12px; margin-right:6px; border-radius:16px;
  border:1px solid var(--line); cursor:pointer; font-size:.9rem; }
#f-all:checked ~ .filters label[for=f-all], #f-bad:checked ~ .filters label[for=f-bad],
#f-pass:checked ~ .filters label[for=f-pass], #f-skip:checked ~ .filters label[for=f-skip] {
  background:#1f2328; color:#fff; border-color:#1f2328; }
#f-bad:checked ~ .list .case:not(.s-fail):not(.s-error),
#f-pass:checked ~ .list .case:not(.s-pass),
#f-skip:checked ~ .list .case:not(.s-skip) { display:none; }
.list { border:1px solid var(--line); border-radius:8px; overflow:hidden; }
.row { display:grid; grid-template-columns:16px 64px minmax(0,2fr) minmax(0,2fr) minmax(0,1.4fr)
  60px 80px 80px; gap:10px; align-items:center; padding:7px 12px; }
.head { background:var(--bg); font-weight:600; font-size:.85rem; color:var(--muted); }
.case { border-top:1px solid var(--line); }
.case > summary { list-style:none; cursor:pointer; }
.case > summary::-webkit-details-marker { display:none; }
.case > summary:hover { background:var(--bg); }
.chev::before { content:"▸"; color:var(--muted); }
.case[open] .chev::before { content:"▾"; }
.cell { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff;
  font-size:.8rem; font-weight:600; text-align:center; }
.b-pass { background:var(--pass); } .b-fail { background:var(--fail); }
.b-error { background:var(--error); } .b-skip { background:var(--skip); }
.tag { display:inline-block; background:#ddf4ff; color:#0969da; border-radius:10px;
  padding:0 7px; margin-right:3px; font-size:.8rem; }
.body { padding:4px 16px 14px 44px; background:#fff; }
.attempt { border-left:3px solid var(--line); padding-left:12px; margin-top:12px; }
.attempt.s-fail { border-color:var(--fail); } .attempt.s-error { border-color:var(--error); }
.attempt.s-pass { border-color:var(--pass); }
.facts { color:var(--muted); font-size:.85rem; margin:6px 0; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 10px;
  white-space:pre-wrap; word-break:break-word; max-height:360px; overflow:auto; margin:6px 0;
  font-size:.85rem; }
pre.error { background:#fff1e5; border-color:#ffb77c; }
table.asserts { border-collapse:collapse; width:100%; font-size:.85rem; margin:6px 0;
  table-layout:fixed; }
table.asserts th:nth-child(1) { width:24px; } table.asserts th:nth-child(2) { width:170px; }
table.asserts th:nth-child(3) { width:60px; }
table.asserts th, table.asserts td { border-bottom:1px solid var(--line); padding:4px 6px;
  text-align:left; vertical-align:top; overflow-wrap:anywhere; }
table.asserts td.msg { white-space:pre-wrap; word-break:break-word; }
.mark-ok { color:var(--pass); font-weight:700; } .mark-ko { color:var(--fail); font-weight:700; }
.label { font-weight:600; font-size:.85rem; margin-top:8px; }
footer { margin-top:24px; color:var(--muted); font-size:.8rem; }
"""


def e(value: object) -> str:
    """Any value, escaped for HTML text and attribute values alike."""
    return html.escape("" if value is None else str(value), quote=True)


def _rate_colour(rate: float | None) -> str:
    if rate is None:
        return "#6e7781"
    if rate >= 0.95:
        return "#1a7f37"
    if rate >= 0.8:
        return "#9a6700"
    return "#cf222e"


def tag_chart(tags: list[TagSummary]) -> str:
    """Horizontal bars, one per tag, worst pass rate first: the tags that need attention."""
    if not tags:
        return '<p class="empty">No tagged cases.</p>'
    ordered = sorted(tags, key=lambda t: (t.counts.pass_rate is None, t.counts.pass_rate or 0))
    shown = ordered[:MAX_TAG_BARS]
    label_w, bar_w, row_h = 150, 300, 24
    width, height = label_w + bar_w + 110, row_h * len(shown) + 4
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Pass rate by tag"'
        ' xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, tag in enumerate(shown):
        y = index * row_h + 2
        rate = tag.counts.pass_rate
        filled = bar_w * (rate or 0)
        counts = tag.counts
        parts.append(
            f"<g><title>{e(tag.tag)}: {counts.passed} of {counts.cases - counts.skipped} "
            f"passed</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
            f"{e(truncate(tag.tag, 22))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" rx="3"'
            ' fill="#eaeef2"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{filled:.1f}" height="{row_h - 8}" rx="3"'
            f' fill="{_rate_colour(rate)}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{e(format_rate(rate))}'
            f'<tspan class="muted"> ({counts.passed}/{counts.cases - counts.skipped})</tspan>'
            "</text></g>"
        )
    parts.append("</svg>")
    if len(ordered) > MAX_TAG_BARS:
        parts.append(f'<p class="empty">… and {len(ordered) - MAX_TAG_BARS} more tags</p>')
    return "".join(parts)


def latency_histogram(latency: LatencySummary) -> str:
    """Attempt latencies in equal-width bins, with the p50 and p95 marked."""
    values = latency.values_ms
    if not values:
        return '<p class="empty">No latencies recorded.</p>'
    low, high = min(values), max(values)
    bins = 1 if high == low else min(20, max(2, math.ceil(math.sqrt(len(values)))))
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / step), bins - 1)] += 1
    left, right, top, bottom = 36, 12, 34, 28
    plot_w, plot_h = 480, 150
    width, height = left + plot_w + right, top + plot_h + bottom
    tallest = max(counts)
    bar_w = plot_w / bins

    def x_of(ms: float) -> float:
        return left + (ms - low) / (step * bins) * plot_w

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Latency histogram"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#8c959f"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="muted">{tallest}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="muted">0</text>',
    ]
    for index, count in enumerate(counts):
        bar_h = plot_h * count / tallest
        start = low + index * step
        parts.append(
            f"<g><title>{e(format_ms(start))} to {e(format_ms(start + step))}: "
            f"{count} attempts</title>"
            f'<rect x="{left + index * bar_w + 1:.1f}" y="{top + plot_h - bar_h:.1f}"'
            f' width="{max(bar_w - 2, 1):.1f}" height="{bar_h:.1f}" fill="#54aeff"/></g>'
        )
    for name, ms, row in (("p50", latency.p50, 12), ("p95", latency.p95, 26)):
        if ms is None:
            continue
        x = x_of(ms)
        anchor = "end" if x > left + plot_w * 0.7 else "start"
        shift = -4 if anchor == "end" else 4
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}"'
            ' stroke="#cf222e" stroke-dasharray="4 3"/>'
            f'<text x="{x + shift:.1f}" y="{row}" text-anchor="{anchor}">'
            f"{name} {e(format_ms(ms))}</text>"
        )
    axis_y = top + plot_h + 18
    parts.append(
        f'<text x="{left}" y="{axis_y}" class="muted">{e(format_ms(low))}</text>'
        f'<text x="{left + plot_w}" y="{axis_y}" text-anchor="end" class="muted">'
        f"{e(format_ms(high))}</text></svg>"
    )
    return "".join(parts)


def _card(label: str, value: str, kind: str = "") -> str:
    return (
        f'<div class="card {kind}"><span class="label">{e(label)}</span>'
        f'<span class="value">{e(value)}</span></div>'
    )


def _cards(summary: RunSummary) -> str:
    counts, latency = summary.counts, summary.latency
    tokens = f"{format_count(summary.input_tokens)} / {format_count(summary.output_tokens)}"
    return (
        '<section class="cards">'
        + _card("Pass rate", format_rate(counts.pass_rate))
        + _card("Cases", str(counts.cases))
        + _card("Passed", str(counts.passed), "pass")
        + _card("Failed", str(counts.failed), "fail" if counts.failed else "")
        + _card("Errors", str(counts.errors), "error" if counts.errors else "")
        + _card("Skipped", str(counts.skipped))
        + _card("p50 latency", format_ms(latency.p50))
        + _card("p95 latency", format_ms(latency.p95))
        + _card("Tokens in / out", tokens)
        + _card("Cost", format_cost(summary.cost_usd))
        + _card("Retries", str(summary.retries))
        + "</section>"
    )


def _meta(summary: RunSummary, source: Path) -> str:
    items: list[tuple[str, object]] = [
        ("Run", summary.run_id or "?"),
        ("Model", summary.model_label),
        ("Started", summary.started_at or "?"),
    ]
    if summary.header.get("git_sha"):
        items.append(("Commit", str(summary.header["git_sha"])[:12]))
    items.append(("Results", source.name))
    return (
        '<dl class="meta">'
        + "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in items)
        + "</dl>"
    )


def _assertions_table(record: Record) -> str:
    rows = []
    for item in record_assertions(record):
        passed = item.get("passed") is True
        mark = '<span class="mark-ok">✓</span>' if passed else '<span class="mark-ko">✗</span>'
        rows.append(
            f"<tr><td>{mark}</td><td>{e(item.get('type', '?'))}</td>"
            f"<td class='num'>{e(format_score(as_number(item.get('score'))))}</td>"
            f"<td class='msg'>{e(item.get('message', ''))}</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<table class="asserts"><thead><tr><th></th><th>assertion</th><th>score</th>'
        "<th>message</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _attempt(record: Record, *, heading: str | None) -> str:
    status = record_status(record)
    facts = [
        f"latency {format_ms(as_number(record.get('latency_ms')))}",
        f"tokens {format_count(record_usage(record, 'input_tokens'))} in / "
        f"{format_count(record_usage(record, 'output_tokens'))} out",
        f"cost {format_cost(as_number(record.get('cost_usd')))}",
    ]
    retries = as_number(record.get("retries"))
    if retries:
        facts.append(f"{retries:.0f} retries")
    if record.get("provider_model"):
        facts.append(f"provider model {record['provider_model']}")
    parts = [f'<div class="attempt s-{status}">']
    if heading is not None:
        parts.append(
            f'<div class="label">{e(heading)} <span class="badge b-{status}">{status}</span></div>'
        )
    parts.append(f'<div class="facts">{e(" · ".join(facts))}</div>')
    if record.get("error"):
        parts.append(f'<div class="label">Error</div><pre class="error">{e(record["error"])}</pre>')
    output = record.get("output")
    if output is not None:
        parts.append(
            f'<div class="label">Output</div><pre>{e(truncate(str(output), OUTPUT_CHARS))}</pre>'
        )
    parts.append(_assertions_table(record))
    parts.append("</div>")
    return "".join(parts)


def _case(case: CaseSummary, *, with_model: bool) -> str:
    status = case.status
    tags = "".join(f'<span class="tag">{e(t)}</span>' for t in case.tags)
    where = f"{case.suite} · {case.model}" if with_model else case.suite
    attempts = f"{case.passed_attempts}/{case.counted_attempts}" if case.repeated else "1"
    body = []
    if case.prompt is not None:
        body.append(f'<div class="label">Prompt</div><pre>{e(case.prompt)}</pre>')
    if case.repeated:
        body.append(
            f'<div class="facts">{case.passed_attempts} of {case.counted_attempts} attempts '
            f"passed; the case needs {e(format_rate(case.min_pass_rate))}</div>"
        )
        body += [
            _attempt(a, heading=f"Attempt {a.get('attempt', index)}")
            for index, a in enumerate(case.attempts)
        ]
    else:
        body += [_attempt(a, heading=None) for a in case.attempts]
    return (
        f'<details class="case s-{status}"><summary class="row">'
        '<span class="chev"></span>'
        f'<span><span class="badge b-{status}">{status}</span></span>'
        f'<span class="cell" title="{e(case.case_id)}">{e(case.case_id)}</span>'
        f'<span class="cell" title="{e(where)}">{e(where)}</span>'
        f'<span class="cell">{tags}</span>'
        f'<span class="num">{e(format_score(case.score))}</span>'
        f'<span class="num">{e(format_ms(case.latency_ms))}</span>'
        f'<span class="num">{e(attempts)}</span>'
        f'</summary><div class="body">{"".join(body)}</div></details>'
    )


def _filters(cases: Iterable[CaseSummary]) -> str:
    statuses = [c.status for c in cases]
    bad = statuses.count("fail") + statuses.count("error")
    choices = [
        ("f-all", f"All ({len(statuses)})"),
        ("f-bad", f"Failed & errors ({bad})"),
        ("f-pass", f"Passed ({statuses.count('pass')})"),
        ("f-skip", f"Skipped ({statuses.count('skip')})"),
    ]
    inputs = "".join(
        f'<input type="radio" name="filter" id="{key}"{" checked" if key == "f-all" else ""}>'
        for key, _ in choices
    )
    labels = "".join(f'<label for="{key}">{e(text)}</label>' for key, text in choices)
    return f'{inputs}<div class="filters">{labels}</div>'


def render_summary(summary: RunSummary, source: Path) -> str:
    counts = summary.counts
    state = "none" if counts.cases == counts.skipped else ("ok" if summary.ok else "bad")
    cases = sorted(summary.cases, key=lambda c: _STATUS_ORDER[c.status])
    with_model = len(summary.models) > 1
    header: Mapping[str, Any] = summary.header
    version = header.get("llmtest_version") or __version__
    rows = "".join(_case(c, with_model=with_model) for c in cases)
    torn = (
        f" · {summary.skipped_lines} torn line(s) of the results file skipped"
        if summary.skipped_lines
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>llmtest report · {e(summary.run_id or source.name)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>llmtest report</h1>{_meta(summary, source)}</header>
<section class="verdict {state}">{e(verdict(summary, icon=False))}</section>
{_cards(summary)}
<h2>Charts</h2>
<section class="charts">
<figure><figcaption>Pass rate by tag</figcaption>{tag_chart(summary.by_tag)}</figure>
<figure><figcaption>Latency ({len(summary.latency.values_ms)} attempts)</figcaption>
{latency_histogram(summary.latency)}</figure>
</section>
<h2>Cases</h2>
<section class="cases">
{_filters(cases)}
<div class="list">
<div class="row head"><span></span><span>Status</span><span>Case</span><span>Suite</span>
<span>Tags</span><span class="num">Score</span><span class="num">Latency</span>
<span class="num">Attempts</span></div>
{rows or '<p class="empty" style="padding:0 12px">No cases in this results file.</p>'}
</div>
</section>
<footer>Generated by llmtest {e(version)} from {e(source.name)}{e(torn)}.</footer>
</body>
</html>
"""


def render_html(results: ResultsFile) -> str:
    return render_summary(summarize(results), results.path)


def write_html(results: ResultsFile, path: Path) -> None:
    write_report(path, render_html(results))
