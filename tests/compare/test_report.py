"""The Markdown and JSON reports of a comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from llmtest.compare import GatePolicy, evaluate_gate
from llmtest.compare.report import render_json, render_markdown
from llmtest.reports.format import MISSING
from llmtest.reports.markdown import GITHUB_COMMENT_LIMIT
from tests.compare.helpers import compare
from tests.reports.builders import case, repeated, skipped

POLICY = GatePolicy(
    max_regressions=0, block_on_tags=("critical",), max_cost_ratio=2.0, min_pass_rate=0.5
)


def planted(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    baseline = [
        case("refunds", tags=["critical"], output="Returns within 30 days."),
        case("tone", output="Happy to help!"),
        case("shipping", "fail", output="no idea"),
        case("steady"),
        case("gone"),
        case("edited", case_hash="v1"),
        *repeated("flaky", ["pass"] * 4),
    ]
    candidate = [
        case("refunds", "fail", tags=["critical"], output="Returns within 14 days | <b>x</b>"),
        case("tone", "fail", output="Whatever."),
        case("shipping", output="Ships in 2 days."),
        case("steady"),
        case("brand-new"),
        case("edited", case_hash="v2"),
        *repeated("flaky", ["pass", "fail", "pass", "pass"]),
    ]
    comparison = compare(tmp_path, baseline, candidate)
    result = evaluate_gate(comparison, POLICY)
    return render_markdown(comparison, result), json.loads(render_json(comparison, result))


def _section(markdown: str, title: str) -> str:
    start = markdown.index(title)
    end = markdown.find("\n### ", start + 1)
    return markdown[start : end if end != -1 else None]


def _first_column(table: str) -> list[str]:
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    return [row.split("|")[1].strip() for row in rows]


def test_the_report_names_exactly_the_planted_regressions_and_fixes(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    unconfirmed = _section(markdown, "### ❔ Regressions that could not be confirmed")
    assert sorted(_first_column(unconfirmed)) == ["refunds", "tone"]
    assert "not confirmable (no model to re-run and one attempt a side)" in unconfirmed
    flaky = _section(markdown, "### 〰️ Flaky: pass→fail, not confirmed")
    assert _first_column(flaky) == ["flaky"]
    assert "recorded attempts: baseline 4/4, candidate 3/4 passed, p = 0.5 ≥ 0.0167" in flaky
    assert "### ❌ Confirmed regressions" not in markdown
    assert _first_column(_section(markdown, "### ✅ Fixes")) == ["shipping"]
    assert sorted(r["case_id"] for r in data["regressions"]) == ["flaky", "refunds", "tone"]
    assert [r["case_id"] for r in data["fixes"]] == ["shipping"]


def test_the_verdict_line_leads_and_names_the_failed_rules(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    first = markdown.splitlines()[0]
    assert first.startswith("## ❌ llmtest compare: BLOCKED")
    assert "block_on_tags: regression tagged critical: refunds: not confirmable" in first
    assert "max_regressions" in first
    assert data["gate"]["verdict"] == "blocked"
    assert data["gate"]["exit_code"] == 1


def test_every_rule_is_a_row_with_threshold_and_measured_value(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    table = _section(markdown, "### Gate")
    assert _first_column(table) == [
        "max_errors",
        "max_missing",
        "block_on_tags",
        "max_regressions",
        "min_pass_rate",
        "max_cost_ratio",
    ]
    assert "| max_regressions | ≤ 0 | 3 | ❌ failed |" in table
    assert "| max_cost_ratio | ≤ 2.00x | 1.00x | ✅ held |" in table
    rules = {r["name"]: r["measured"] for r in data["gate"]["rules"]}
    assert rules["min_pass_rate"] == "40.0% (95% upper bound 72.8%)"


def test_outputs_are_side_by_side_and_escaped(tmp_path: Path) -> None:
    markdown, _ = planted(tmp_path)
    row = next(line for line in markdown.splitlines() if line.startswith("| refunds"))
    assert "Returns within 30 days." in row
    assert r"Returns within 14 days \| &lt;b&gt;x&lt;/b&gt;" in row
    assert "<b>" not in markdown


def test_pass_rates_have_intervals_and_the_mcnemar_p_value_is_shown(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    assert re.search(
        r"\| \*\*all\*\* \| 80\.0% \[37\.6-96\.4%\] \| 40\.0% \[11\.8-76\.9%\] \|", markdown
    )
    assert "| critical | 100.0% [20.7-100.0%] | 0.0% [" in markdown
    # Per-case differences 1, 1, -1 and 1 - 3/4 (the repeated case): of the 16 sign
    # patterns of (4, 4, 4, 1) quarters, 5 sum to at least the observed 9.
    assert "on per-case pass rates (exact)) over 5 judged pairs, 4 of them different" in markdown
    assert "p = 0.3125" in markdown
    assert data["paired_test"]["p_value"] == 0.3125
    assert data["mcnemar"] == {"regressions": 3, "fixes": 1, "p_value": 0.625}  # two-sided


def test_repeated_case_rates_latency_cost_and_drift_are_reported(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    assert f"| flaky | {MISSING} | pass (4/4) | fail (3/4) |" in markdown
    assert "| p95 latency | 100 ms | 100 ms | 1.00x |" in markdown
    assert "| cost / case | $0.0016 | $0.0016 | 1.00x | 5 |" in markdown
    assert "### Output drift" in markdown and "Similarity of 5 answer pairs" in markdown
    assert data["drift"]["compared"] == 5


def test_one_side_only_and_changed_cases_are_listed(tmp_path: Path) -> None:
    markdown, data = planted(tmp_path)
    section = _section(markdown, "### Not compared")
    assert "**Only in the baseline** (1): gone" in section
    assert "**Only in the candidate** (1): brand-new" in section
    assert "**Changed (edited between runs)** (1): edited" in section
    assert [c["case_id"] for c in data["changed"]] == ["edited"]
    assert data["paired"] == 5


def test_the_markdown_stays_under_the_comment_limit_with_huge_outputs(tmp_path: Path) -> None:
    big = "x" * 5000
    comparison = compare(
        tmp_path,
        [case(f"c{i}", output=big, tags=[f"t{i}"]) for i in range(400)],
        [case(f"c{i}", "fail", output=big + "y", tags=[f"t{i}"]) for i in range(400)],
    )
    markdown = render_markdown(comparison, evaluate_gate(comparison, POLICY))
    assert len(markdown) < GITHUB_COMMENT_LIMIT
    assert "and 350 more" in markdown


def test_counts_in_the_markdown_take_the_singular_for_one(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a", output="Returns within 30 days."), case("b"), case("c")],
        [
            case("a", "fail", output="Returns within 14 days."),
            case("b", "error"),
            skipped("c"),
        ],
    )
    markdown = render_markdown(comparison, evaluate_gate(comparison, POLICY))
    assert "McNemar test) over 1 judged pair, 1 of them different (1 pass→fail, 0 fail→pass)" in (
        markdown
    )
    assert "Left out of the test: 1 undecided pair (errored on a side) and 1 skipped pair;" in (
        markdown
    )
    assert "Similarity of 1 answer pair (rapidfuzz ratio)" in markdown
