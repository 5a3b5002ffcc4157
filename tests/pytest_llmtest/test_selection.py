"""-k, -m, -x, --lf and --junitxml behave as pytest users expect."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

import pytest


def test_k_selects_by_case_id(support_suite: pytest.Pytester) -> None:
    support_suite.runpytest("-k", "refund").assert_outcomes(passed=1, deselected=2)


def test_m_selects_by_tag(support_suite: pytest.Pytester) -> None:
    support_suite.runpytest("-m", "policy and not critical").assert_outcomes(failed=1, deselected=2)


def test_llmtest_marker_selects_every_case(support_suite: pytest.Pytester) -> None:
    support_suite.makepyfile("def test_plain(): pass")
    support_suite.runpytest("-m", "not llmtest").assert_outcomes(passed=1, deselected=3)


def test_x_stops_at_the_first_failure(support_suite: pytest.Pytester) -> None:
    result = support_suite.runpytest("-x")
    result.assert_outcomes(passed=1, failed=1)


def test_lf_reruns_only_the_failed_case(support_suite: pytest.Pytester) -> None:
    support_suite.runpytest()
    result = support_suite.runpytest("--lf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure*"])


def test_junitxml_has_one_testcase_per_case_with_model_properties(
    support_suite: pytest.Pytester,
) -> None:
    support_suite.runpytest("--junitxml=out.xml")
    root = ET.parse(support_suite.path / "out.xml").getroot()
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(cases) == {"refund-window", "shipping", "greeting"}
    failure = cases["shipping"].find("failure")
    assert failure is not None
    assert "2 business days" in (failure.text or "") + (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in cases["refund-window"].iter("property")}
    assert props["llm_model"] == "echo:"
    assert props["llm_status"] == "pass"
    assert float(props["llm_latency_ms"] or "nan") >= 0


def test_only_selected_cases_call_the_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        import pathlib
        def answer(prompt):
            with open("calls.log", "a") as fh:
                fh.write(prompt + "\\n")
            return prompt
    """)
    )
    pytester.makefile(
        ".llm.yaml",
        test_a=textwrap.dedent("""
        model: "callable:app:answer"
        cases:
          - {id: one, prompt: one}
          - {id: two, prompt: two}
          - {id: three, prompt: three}
    """),
    )
    pytester.runpytest("-k", "two").assert_outcomes(passed=1, deselected=2)
    assert (pytester.path / "calls.log").read_text().split() == ["two"]


def test_collect_only_makes_no_model_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app="def answer(prompt):\n    open('calls.log', 'a').write('x')\n    return prompt\n"
    )
    pytester.makefile(
        ".llm.yaml", test_a="model: 'callable:app:answer'\ncases: [{id: a, prompt: hi}]"
    )
    pytester.runpytest("--collect-only")
    assert not (pytester.path / "calls.log").exists()
