"""Lines both front ends print at the end of a run (pytest's summary section, ``llmtest
run``'s closing lines), figured as the reports figure them."""

from __future__ import annotations

from collections.abc import Sequence

from llmtest.reports.format import format_ms
from llmtest.results.figures import percentile


def latency_line(latencies_ms: Sequence[float]) -> str:
    """p50 and p95 over every attempt's latency, as the JSON, Markdown and HTML reports
    give them."""
    p50, p95 = percentile(latencies_ms, 50), percentile(latencies_ms, 95)
    return f"latency p50 {format_ms(p50)}, p95 {format_ms(p95)}"
