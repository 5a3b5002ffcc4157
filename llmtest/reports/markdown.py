"""A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Everything that came from a model (outputs, messages, even case ids) is escaped, so an
answer cannot break the layout, inject HTML or @-mention people; the whole text stays under
GitHub's 65,536-character limit for a comment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from llmtest import __version__
from llmtest._text import escape_controls, plural
from llmtest.reports._files import write_report
from llmtest.reports.format import (
    format_cost,
    format_count,
    format_ms,
    format_rate,
    truncate,
    verdict,
)
from llmtest.results.jsonl import ResultsFile
from llmtest.results.summary import CaseSummary, RunSummary, summarize

GITHUB_COMMENT_LIMIT = 65_536
DEFAULT_MAX_CHARS = 60_000
MAX_TAG_ROWS = 50
MAX_ASSERTIONS = 10
MESSAGE_CHARS = 300
OUTPUT_CHARS = 1000
INLINE_OUTPUT_CHARS = 120
ATTEMPTS_RUN_NOTE = (
    "attempts run: answers asked of the model or of its response cache (a skipped case asks "
    "none) · retries: requests sent again after a failed try"
)
"""What the second table counts: the results file does not tell a cached answer from a call."""

# Only what can act mid-line: "-", "+" or "#" mean something only at a line's start, which
# an escaped value never is, and "(" or "!" only next to "[" or "]", which are escaped.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
_EMOJI_CODE = re.compile(r":(?=[A-Za-z0-9_+-]+:)")
_STATUS_ICON = {"pass": "✅", "fail": "❌", "error": "💥", "skip": "⏭️"}


def escape(text: str) -> str:
    """``text`` as literal Markdown on one line: no emphasis, links, tables, HTML,
    @-mentions or emoji codes (a zero-width space after ``@`` stops GitHub from notifying
    anyone, one after the ``:`` of ``:x:`` from rendering an emoji)."""
    text = escape_controls(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _EMOJI_CODE.sub(":\u200b", text)  # ":x:" from a model is text, not GitHub's ❌
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("@", "@\u200b")
    return " ".join(text.split())


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def code_span(text: str) -> str:
    """Inline code that no backtick inside ``text`` can close (escapes do not work there)."""
    text = " ".join(escape_controls(text).split())
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_block(text: str) -> str:
    """A fenced block whose fence no run of backticks inside ``text`` can close; control
    characters escaped, since the report may go straight to a terminal (``--markdown -``)."""
    text = escape_controls(text)
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}text\n{text.rstrip(chr(10))}\n{fence}"


def _run_line(summary: RunSummary) -> str:
    parts = [f"run {escape(summary.run_id or '?')}", f"model {escape(summary.model_label)}"]
    if summary.started_at:
        parts.append(escape(summary.started_at))
    if summary.git_sha:
        parts.append(f"commit {escape(summary.git_sha[:12])}")
    return " · ".join(parts)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A Markdown table's lines; ``align`` holds ``l`` or ``r`` per column. The cells are
    written as given: escape what came from a model first."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _summary_table(summary: RunSummary) -> list[str]:
    """Two narrow tables, so neither scrolls at a pull-request comment's width: the
    verdict's figures first, then what the run spent (the model is named in the run line)."""
    counts = summary.counts
    tokens = f"{format_count(summary.input_tokens)} / {format_count(summary.output_tokens)}"
    verdict_figures = table(
        ["Cases", "Passed", "Failed", "Errors", "Skipped", "Pass rate", "p95 latency"],
        [
            [
                str(counts.cases),
                str(counts.passed),
                str(counts.failed),
                str(counts.errors),
                str(counts.skipped),
                format_rate(counts.pass_rate),
                format_ms(summary.latency.p95),
            ]
        ],
        "rrrrrrr",
    )
    spent = table(
        ["p50 latency", "Tokens (in / out)", "Cost", "Attempts run", "Retries"],
        [
            [
                format_ms(summary.latency.p50),
                tokens,
                format_cost(summary.cost_usd),
                str(summary.attempts_run),
                str(summary.retries),
            ]
        ],
        "rrrrr",
    )
    return [*verdict_figures, "", *spent]


def _tag_table(summary: RunSummary) -> list[str]:
    tags = summary.by_tag
    if not tags:
        return []
    rows = [
        [
            escape(t.tag),
            str(t.counts.cases),
            str(t.counts.passed),
            str(t.counts.failed),
            str(t.counts.errors),
            str(t.counts.skipped),
            format_rate(t.counts.pass_rate),
        ]
        for t in tags[:MAX_TAG_ROWS]
    ]
    header = ["Tag", "Cases", "Passed", "Failed", "Errors", "Skipped", "Pass rate"]
    lines = ["### Pass rate by tag", "", *table(header, rows, "lrrrrrr")]
    if len(tags) > MAX_TAG_ROWS:
        lines += ["", f"… and {plural(len(tags) - MAX_TAG_ROWS, 'more tag')}"]
    return [*lines, ""]


def _case_entry(case: CaseSummary, *, with_model: bool) -> str:
    title = f"**{_STATUS_ICON[case.status]} {escape(case.case_id)}** — {escape(case.suite)}"
    if with_model:
        title += f" · {escape(case.model)}"
    if case.repeated:
        title += (
            f" · {case.passed_attempts}/{plural(case.counted_attempts, 'attempt')} passed"
            f" (needs {format_rate(case.min_pass_rate)})"
        )
    lines = [title, ""]
    for error in case.errors if case.status == "error" else []:
        lines.append(f"- error: {escape(truncate(error, MESSAGE_CHARS))}")
    failed = case.failed_assertions
    for item in failed[:MAX_ASSERTIONS]:
        times = f" (in {plural(item.attempts, 'attempt')})" if case.repeated else ""
        lines.append(
            f"- {code_span(item.type)}: {escape(truncate(item.message, MESSAGE_CHARS))}{times}"
        )
    if len(failed) > MAX_ASSERTIONS:
        lines.append(f"- … and {plural(len(failed) - MAX_ASSERTIONS, 'more failed assertion')}")
    output = case.output
    if output is not None:
        if len(output) <= INLINE_OUTPUT_CHARS and "\n" not in output.strip():
            lines.append(f"- output: {escape(output) or '(empty)'}")
        else:
            lines += [
                "",
                f"<details><summary>output ({plural(len(output), 'character', grouped=True)})"
                "</summary>",
                "",
                code_block(truncate(output, OUTPUT_CHARS)),
                "",
                "</details>",
            ]
    return "\n".join(lines) + "\n"


def _footer(summary: RunSummary) -> str:
    parts = [f"llmtest {escape(summary.llmtest_version or __version__)}", ATTEMPTS_RUN_NOTE]
    if summary.skipped_lines:
        lines = plural(summary.skipped_lines, "torn line")
        parts.append(f"{lines} of the results file skipped")
    return f"<sub>{' · '.join(parts)}</sub>\n"


def render_summary(summary: RunSummary, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    head = [f"## {verdict(summary)}", "", _run_line(summary), "", *_summary_table(summary), ""]
    head += _tag_table(summary)
    text = "\n".join(head) + "\n"
    footer = "\n" + _footer(summary)
    bad = [c for c in summary.cases if c.status in ("fail", "error")]
    if bad:
        text += "### Failed and errored cases\n\n"
        with_model = len(summary.models) > 1
        reserve = len(footer) + 40
        for shown, case in enumerate(bad):
            entry = _case_entry(case, with_model=with_model) + "\n"
            if len(text) + len(entry) + reserve > max_chars:
                text += f"… and {len(bad) - shown} more\n"
                break
            text += entry
    return text + footer


def render_markdown(results: ResultsFile, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    return render_summary(summarize(results), max_chars=max_chars)


def write_markdown(results: ResultsFile, path: Path) -> None:
    write_report(path, render_markdown(results))
