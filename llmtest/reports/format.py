"""How every report shows a figure, so the run reports and the comparison's reports
(which render reports too) write a rate, a latency or a cost alike."""

from __future__ import annotations

import functools
from collections.abc import Callable

from llmtest._text import plural
from llmtest.results.summary import RunSummary

MISSING = "\N{EN DASH}"
"""How reports show a figure that is not known (no latency for an error, no price)."""


def _known(show: Callable[[float], str]) -> Callable[[float | None], str]:
    """``show`` for a figure that is known, :data:`MISSING` for one that is not."""

    @functools.wraps(show)
    def shown(value: float | None) -> str:
        return MISSING if value is None else show(value)

    return shown


@_known
def format_rate(rate: float) -> str:
    return f"{rate * 100:.1f}%"


@_known
def format_ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


@_known
def format_count(value: float) -> str:
    return f"{value:,.0f}"


@_known
def format_cost(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


@_known
def format_score(value: float) -> str:
    return f"{value:.2f}"


@_known
def format_ratio(value: float) -> str:
    """A candidate-over-baseline ratio: ``1.25x``."""
    return f"{value:.2f}x"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({plural(len(text) - limit, 'more character', grouped=True)})"


def verdict(summary: RunSummary, *, icon: bool = True) -> str:
    """The one line every report leads with: ✅ or ❌ (⚠️ when nothing ran) and the counts."""
    counts = summary.counts
    ran = counts.cases - counts.skipped
    if ran == 0:
        mark = "⚠️ " if icon else ""
        cases = plural(counts.cases, "case")
        return f"{mark}llmtest: no cases ran ({cases}, {counts.skipped} skipped)"
    torn = summary.skipped_lines > 0  # the run stopped mid-write: its cases may be missing
    mark = ("⚠️ " if torn else "✅ " if summary.ok else "❌ ") if icon else ""
    line = f"{mark}llmtest: {counts.passed} of {plural(ran, 'case')} passed"
    details = []
    if counts.failed:
        details.append(f"{counts.failed} failed")
    if counts.errors:
        details.append(plural(counts.errors, "error"))
    if counts.skipped:
        details.append(f"{counts.skipped} skipped")
    line = f"{line} ({', '.join(details)})" if details else line
    return f"{line}; the run did not finish (its file ends in a torn line)" if torn else line
