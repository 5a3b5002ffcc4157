"""One self-contained HTML page per run, to attach to a CI job or open from disk.

Model outputs are hostile input. The page renders through jinja2 with autoescaping
(``templates/run.html.j2``, extending the shared ``base.html.j2``), so every value read from
the results file is escaped where it is printed; the charts are computed here as geometry
and drawn by the template, never as strings. The page's Content-Security-Policy allows no
script, no network and no external resource, so a page that slipped could still run
nothing. Filters and expandable cases are plain CSS (radio buttons and ``<details>``), not
JavaScript: a failed or errored case is open from the start, so its reason needs no click.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from llmtest import __version__
from llmtest.reports._files import write_report
from llmtest.reports._templates import CSP, render
from llmtest.reports.format import MISSING, truncate, verdict
from llmtest.results.jsonl import ResultsFile
from llmtest.results.summary import (
    CaseSummary,
    LatencySummary,
    RunSummary,
    TagSummary,
    summarize,
)

__all__ = [
    "CSP",
    "AssertionCount",
    "latency_histogram",
    "render_html",
    "render_summary",
    "tag_chart",
    "write_html",
]

OUTPUT_CHARS = 20_000
MAX_TAG_BARS = 40
_STATUS_ORDER = {"error": 0, "fail": 1, "pass": 2, "skip": 3}


def _rate_colour(rate: float | None) -> str:
    if rate is None:
        return "#6e7781"
    if rate >= 0.95:
        return "#1a7f37"
    if rate >= 0.8:
        return "#9a6700"
    return "#cf222e"


@dataclass(frozen=True)
class TagBar:
    """One tag's bar, positioned: its label, the filled share and the figures beside it."""

    tag: str
    label: str
    passed: int
    counted: int
    skipped: int
    rate: float | None
    colour: str
    text_y: int
    bar_y: int
    filled: float


@dataclass(frozen=True)
class TagChart:
    """Horizontal bars, one per tag, worst pass rate first: the tags that need attention."""

    bars: tuple[TagBar, ...]
    hidden: int
    label_w: ClassVar[int] = 150
    bar_w: ClassVar[int] = 300
    row_h: ClassVar[int] = 24

    @property
    def width(self) -> int:
        return self.label_w + self.bar_w + 110

    @property
    def height(self) -> int:
        return self.row_h * len(self.bars) + 4

    @property
    def bar_h(self) -> int:
        return self.row_h - 8

    @property
    def label_x(self) -> int:
        return self.label_w - 8

    @property
    def value_x(self) -> int:
        return self.label_w + self.bar_w + 8


def tag_chart(tags: Sequence[TagSummary]) -> TagChart:
    """The pass rate of each tag, at most ``MAX_TAG_BARS`` of them."""
    ordered = sorted(tags, key=lambda t: (t.counts.pass_rate is None, t.counts.pass_rate or 0))
    bars = []
    for index, tag in enumerate(ordered[:MAX_TAG_BARS]):
        y = index * TagChart.row_h + 2
        counts = tag.counts
        bars.append(
            TagBar(
                tag=tag.tag,
                label=truncate(tag.tag, 22),
                passed=counts.passed,
                counted=counts.cases - counts.skipped,
                skipped=counts.skipped,
                rate=counts.pass_rate,
                colour=_rate_colour(counts.pass_rate),
                text_y=y + 16,
                bar_y=y + 3,
                filled=TagChart.bar_w * (counts.pass_rate or 0),
            )
        )
    return TagChart(tuple(bars), max(0, len(ordered) - MAX_TAG_BARS))


@dataclass(frozen=True)
class AssertionCount:
    """How many of a case's assertions passed, over every attempt: what a case's row shows
    in place of a score, which a failure would make look like a grade."""

    passed: int
    total: int

    @classmethod
    def of(cls, case: CaseSummary) -> AssertionCount:
        verdicts = [item.passed for attempt in case.attempts for item in attempt.assertions]
        return cls(sum(verdicts), len(verdicts))


@dataclass(frozen=True)
class Bin:
    """One bar of the latency histogram: the attempts between two latencies."""

    start_ms: float
    end_ms: float
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Marker:
    """A dashed line at a percentile, labelled on the side with room for its text."""

    name: str
    ms: float
    x: float
    text_x: float
    text_y: int
    anchor: str


@dataclass(frozen=True)
class Histogram:
    """Attempt latencies in equal-width bins, with the p50 and p95 marked."""

    low_ms: float
    high_ms: float
    tallest: int
    bins: tuple[Bin, ...]
    markers: tuple[Marker, ...]
    left: ClassVar[int] = 36
    top: ClassVar[int] = 34
    plot_w: ClassVar[int] = 480
    plot_h: ClassVar[int] = 150
    width: ClassVar[int] = left + plot_w + 12
    height: ClassVar[int] = top + plot_h + 28
    axis_y: ClassVar[int] = top + plot_h
    axis_end: ClassVar[int] = left + plot_w
    label_y: ClassVar[int] = axis_y + 18
    tick_x: ClassVar[int] = left - 6
    tallest_y: ClassVar[int] = top + 4
    marker_top: ClassVar[int] = top - 4


def latency_histogram(latency: LatencySummary) -> Histogram | None:
    """The histogram of ``latency``; None when no attempt has a latency."""
    values = latency.values_ms
    if not values:
        return None
    low, high = min(values), max(values)
    bins = 1 if high == low else min(20, max(2, math.ceil(math.sqrt(len(values)))))
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / step), bins - 1)] += 1
    left, plot_w, plot_h = Histogram.left, Histogram.plot_w, Histogram.plot_h
    bar_w = plot_w / bins
    drawn = []
    for index, count in enumerate(counts):
        bar_h = plot_h * count / max(counts)
        start = low + index * step
        drawn.append(
            Bin(
                start_ms=start,
                end_ms=start + step,
                count=count,
                x=left + index * bar_w + 1,
                y=Histogram.axis_y - bar_h,
                width=max(bar_w - 2, 1),
                height=bar_h,
            )
        )
    markers = []
    for name, ms, row in (("p50", latency.p50, 12), ("p95", latency.p95, 26)):
        if ms is None:
            continue
        x = left + (ms - low) / (step * bins) * plot_w
        anchor = "end" if x > left + plot_w * 0.7 else "start"
        shift = -4 if anchor == "end" else 4
        markers.append(Marker(name, ms, x, x + shift, row, anchor))
    return Histogram(low, high, max(counts), tuple(drawn), tuple(markers))


def render_summary(summary: RunSummary, source: Path) -> str:
    """The page of a summarized run read from ``source``."""
    counts = summary.counts
    state = "none" if counts.cases == counts.skipped else ("ok" if summary.ok else "bad")
    cases = sorted(summary.cases, key=lambda c: _STATUS_ORDER[c.status])
    return render(
        "llmtest.reports",
        "run.html.j2",
        summary=summary,
        source=source.name,
        verdict_class=state,
        verdict=verdict(summary, icon=False),
        tag_chart=tag_chart(summary.by_tag),
        histogram=latency_histogram(summary.latency),
        cases=cases,
        assertion_count=AssertionCount.of,
        missing=MISSING,
        with_model=len(summary.models) > 1,
        output_chars=OUTPUT_CHARS,
        version=summary.llmtest_version or __version__,
    )


def render_html(results: ResultsFile) -> str:
    """The page of a results file (jinja2 is imported here, on the first page rendered)."""
    return render_summary(summarize(results), results.path)


def write_html(results: ResultsFile, path: Path) -> None:
    """The page written to ``path``, creating missing folders (CI paths often name one)."""
    write_report(path, render_html(results))
