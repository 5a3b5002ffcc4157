"""One run's latency percentiles are the same figures in every report and in the
comparison: all of them come from llmtest.results.figures.percentile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmtest.compare import compare_results
from llmtest.reports import render_json, render_markdown
from tests.reports.builders import case, results_file


def test_the_json_and_markdown_reports_and_the_comparison_agree_on_p50_and_p95(
    tmp_path: Path,
) -> None:
    results = results_file(tmp_path, *[case(f"c{ms}", latency_ms=ms) for ms in (20.0, 10.0, 11.0)])
    latency = json.loads(render_json(results))["latency"]
    assert (latency["p50_ms"], latency["p95_ms"]) == (11.0, pytest.approx(19.1))
    lines = render_markdown(results).splitlines()
    assert "| 3 | 3 | 0 | 0 | 0 | 100.0% | 19 ms |" in lines  # p95 with the verdict's figures
    assert any(line.startswith("| 11 ms | ") for line in lines)  # p50 with what was spent
    side = compare_results(results, results).baseline
    assert side.latency_p50 == 11.0 and side.latency_p95 == pytest.approx(19.1)
