"""The HTML page and JUnit XML of a comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from llmtest.compare import GatePolicy, compare_results, evaluate_gate
from llmtest.compare.html import render_html, word_diff
from llmtest.compare.junit import render_junit
from llmtest.reports.html import CSP
from llmtest.reports.html import render_html as render_run_page
from tests.compare.helpers import compare, pair_files
from tests.reports.builders import case, skipped

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_word_diff_marks_removed_and_added_words_and_escapes_them() -> None:
    diff = word_diff("within 30 days <b>", "within 14 days <i>")
    assert diff == (
        "within <del>30</del> <ins>14</ins> days <del>&lt;b&gt;</del> <ins>&lt;i&gt;</ins>"
    )


def test_the_html_page_escapes_outputs_and_allows_no_script(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a", output="Returns within 30 days."), case(HOSTILE, output="fine")],
        [case("a", "fail", output=HOSTILE), case(HOSTILE, "fail", output="fine")],
    )
    page = render_html(comparison, evaluate_gate(comparison, GatePolicy.default()))
    assert f'content="{CSP}"' in page
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h2>Regressions that could not be confirmed (2)</h2>" in page
    assert "<del>Returns within 30 days.</del>" in page


def test_tags_suites_and_both_answers_are_escaped_in_every_section(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a", output=HOSTILE, tags=[HOSTILE], suite=HOSTILE), case("gone", suite=HOSTILE)],
        [case("a", "fail", output="fine " + HOSTILE, tags=[HOSTILE], suite=HOSTILE)],
    )
    page = render_html(comparison, evaluate_gate(comparison, GatePolicy.default()))
    assert "<script" not in page and "<img" not in page
    assert '<span class="tag">&lt;script&gt;' in page
    assert "<ins>fine</ins>" in page


def test_the_comparison_and_the_run_report_share_one_page_skeleton(tmp_path: Path) -> None:
    baseline, candidate = pair_files(tmp_path, [case("a")], [case("a", "fail")])
    comparison = compare_results(baseline, candidate)
    pages = [
        render_html(comparison, evaluate_gate(comparison, GatePolicy.default())),
        render_run_page(baseline),
    ]
    heads = [page.split("<title>")[0] for page in pages]
    assert heads[0] == heads[1]
    styles = [page.split("<style>")[1].split("</style>")[0] for page in pages]
    assert styles[0].startswith(styles[1].rstrip())
    assert ".diff del" in styles[0] and ".diff del" not in styles[1]


def test_each_regression_is_a_failing_junit_testcase(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a"), case("b"), case("c", "fail"), case("d")],
        [case("a", "fail"), case("b"), case("c"), case("d", "error")],
    )
    root = ET.fromstring(render_junit(comparison, evaluate_gate(comparison, GatePolicy.default())))
    cases = {tc.get("name", ""): tc for tc in root.iter("testcase")}
    assert sorted(cases) == ["a", "b", "c", "d"]
    failed = [name for name, tc in cases.items() if tc.find("failure") is not None]
    errored = [name for name, tc in cases.items() if tc.find("error") is not None]
    assert failed == ["a"] and errored == ["d"]
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["verdict"] == "cannot decide"  # d errored; a alone cannot be confirmed
    assert props["paired_test"] == "one-sided exact McNemar test"
    assert props["rule.max_errors"] == "failed: 1 (≤ 0)"


def test_counts_on_the_page_take_the_singular_for_one(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a", output="Returns within 30 days."), case("b"), case("c")],
        [
            case("a", "fail", output="Returns within 14 days."),
            case("b", "error"),
            skipped("c"),
        ],
    )
    page = render_html(comparison, evaluate_gate(comparison, GatePolicy.default()))
    assert "Left out: 1 undecided pair (errored on a side) and 1 skipped pair." in page
    assert "<p>1 answer pair: mean similarity" in page
