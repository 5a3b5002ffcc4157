"""JUnit XML: one testcase per case, with the figures CI dashboards show."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from llmtest.reports.junit import render_junit, write_junit
from llmtest.results import CaseResult
from tests.reports.builders import RUN_ID, SUITE, case, check, repeated, results_file


def parse(tmp_path: Path, *cases: CaseResult) -> ET.Element:
    return ET.fromstring(render_junit(results_file(tmp_path, *cases)))


def case_element(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f".//testcase[@name='{name}']")
    assert found is not None, f"no testcase {name!r}"
    return found


def properties(element: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in element.findall("properties/property")}


def test_each_case_is_one_testcase_named_by_case_id_with_its_suite_as_class(
    tmp_path: Path,
) -> None:
    root = parse(tmp_path, case("a"), *repeated("b", ["pass", "pass"]))
    names = [(t.get("classname"), t.get("name")) for t in root.iter("testcase")]
    assert names == [(SUITE, "a"), (SUITE, "b")]


def test_a_failure_carries_the_failed_assertions_and_the_output(tmp_path: Path) -> None:
    failing = case(
        "a",
        "fail",
        assertions=[check(False, "expected '30 days'"), check(True, "fine")],
        output="Returns take 14 days.",
    )
    failure = case_element(parse(tmp_path, failing), "a").find("failure")
    assert failure is not None
    assert failure.get("message") == "expected '30 days'"
    assert failure.text is not None
    assert "contains: expected '30 days'" in failure.text
    assert "Returns take 14 days." in failure.text
    assert "fine" not in failure.text


def test_an_error_carries_the_error_message(tmp_path: Path) -> None:
    error = case_element(parse(tmp_path, case("a", "error", error="HTTP 503")), "a").find("error")
    assert error is not None
    assert error.get("message") == "HTTP 503"


def test_a_skipped_case_is_skipped(tmp_path: Path) -> None:
    element = case_element(parse(tmp_path, case("a", "skip", error="not selected")), "a")
    skipped = element.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not selected"


def test_a_passing_case_has_no_failure_error_or_skip(tmp_path: Path) -> None:
    element = case_element(parse(tmp_path, case("a")), "a")
    assert [child.tag for child in element] == ["properties"]


def test_each_testcase_has_model_score_and_latency_properties(tmp_path: Path) -> None:
    scored = case("a", assertions=[check(True, type="similarity", score=0.8)], latency_ms=250.0)
    props = properties(case_element(parse(tmp_path, scored), "a"))
    assert (props["llm_model"], props["llm_score"], props["llm_latency_ms"]) == (
        "support-bot",
        "0.8",
        "250.0",
    )


def test_a_repeated_case_has_its_pass_rate_as_a_property(tmp_path: Path) -> None:
    attempts = repeated("a", ["pass", "fail", "pass", "pass"], min_pass_rate=0.75)
    props = properties(case_element(parse(tmp_path, *attempts), "a"))
    assert (props["llm_calls"], props["llm_pass_rate"], props["llm_min_pass_rate"]) == (
        "4",
        "0.75",
        "0.75",
    )


def test_a_repeated_failure_says_how_many_attempts_passed(tmp_path: Path) -> None:
    failure = case_element(parse(tmp_path, *repeated("a", ["pass", "fail"])), "a").find("failure")
    assert failure is not None and failure.text is not None
    assert "1 of 2 attempts passed" in failure.text


def test_the_suite_has_the_run_id_and_model_as_properties(tmp_path: Path) -> None:
    suite = parse(tmp_path, case("a")).find("testsuite")
    assert suite is not None
    props = properties(suite)
    assert (props["llm_run_id"], props["llm_model"]) == (RUN_ID, "support-bot (gpt-4o-mini)")


def test_the_counts_match_the_cases_not_the_attempts(tmp_path: Path) -> None:
    root = parse(
        tmp_path, *repeated("a", ["pass", "fail"]), case("b", "error"), case("c", "skip"), case("d")
    )
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")


def test_markup_and_control_characters_in_outputs_stay_well_formed(tmp_path: Path) -> None:
    failing = case("a", "fail", output="<b>&amp;</b>\x01]]>")
    failure = case_element(parse(tmp_path, failing), "a").find("failure")
    assert failure is not None and failure.text is not None
    assert "<b>&amp;</b>]]>" in failure.text


def test_write_junit_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "llm.xml"
    write_junit(results_file(tmp_path, case("a")), target)
    assert ET.parse(target).getroot().tag == "testsuites"


def test_counts_take_the_singular_for_one(tmp_path: Path) -> None:
    flaky = [
        case("a", attempt=0, repeat=2, assertions=[check(True)]),
        case("a", "fail", attempt=1, repeat=2, assertions=[check(False, "expected '30 days'")]),
    ]
    failure = case_element(parse(tmp_path, *flaky), "a").find("failure")
    assert failure is not None
    assert "contains: expected '30 days' (in 1 attempt)\n" in (failure.text or "")
