"""The HTML page and JUnit XML of a comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from llmtest.compare import GatePolicy, evaluate_gate
from llmtest.compare.html import render_html, word_diff
from llmtest.compare.junit import render_junit
from llmtest.reports.html import CSP
from tests.compare.helpers import compare
from tests.reports.builders import case

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
    assert "<h2>Regressions (2)</h2>" in page
    assert "<del>Returns within 30 days.</del>" in page


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
    assert props["verdict"] == "blocked"
