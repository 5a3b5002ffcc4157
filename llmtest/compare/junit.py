"""JUnit XML of a comparison, so a CI dashboard shows each regression as a failing test.

One ``<testcase>`` per paired case: a regression fails (with what confirming it showed)
unless re-running showed it to be noise, which is skipped as flaky; an undecided pair
(errored on a side) is an error, a pair skipped on a side is skipped, everything else
passes. The properties carry every gate rule's state, measurement and threshold.
"""

from __future__ import annotations

from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string  # type: ignore[import-untyped]

from llmtest.compare.comparison import Comparison
from llmtest.compare.confirmation import Confirmation
from llmtest.compare.gate import GateResult
from llmtest.compare.pairing import CasePair
from llmtest.reports.format import truncate

OUTPUT_CHARS = 2000


def _test_case(pair: CasePair, confirmation: Confirmation | None) -> Any:
    test = TestCase(pair.case_id, classname=pair.suite)
    change = pair.change
    if confirmation is not None and confirmation.state == "not confirmed":
        test.add_skipped_info(
            message=f"flaky: pass→fail, not confirmed ({confirmation.describe()})"
        )
    elif change == "regression":
        known = "" if confirmation is None else f" ({confirmation.describe()})"
        body = "\n".join(
            [
                f"baseline {pair.baseline.status}, candidate {pair.candidate.status}{known}",
                "",
                "baseline output:",
                truncate(pair.baseline.output or "", OUTPUT_CHARS),
                "",
                "candidate output:",
                truncate(pair.candidate.output or "", OUTPUT_CHARS),
            ]
        )
        test.add_failure_info(
            message=(
                "confirmed regression: passed on the baseline, fails on the candidate"
                if confirmation is not None and confirmation.confirmed
                else "regression: passed on the baseline, fails on the candidate"
            ),
            output=body,
            failure_type="llmtest.regression",
        )
    elif change == "undecided":
        errors = pair.baseline.case.errors + pair.candidate.case.errors
        test.add_error_info(
            message="errored on a side; cannot tell regression from fix",
            output="\n".join(errors),
            error_type="llmtest.error",
        )
    elif change == "skipped":
        test.add_skipped_info(message="skipped on a side")
    return test


def render_junit(comparison: Comparison, gate: GateResult) -> str:
    suite = TestSuite(
        "llmtest compare",
        [_test_case(p, gate.confirmation_of(p)) for p in comparison.pairs],
        properties={
            "verdict": gate.verdict.value,
            "baseline": comparison.baseline_run.model_label,
            "candidate": comparison.candidate_run.model_label,
            "paired_test": comparison.paired_test.method,
            "paired_test_p": f"{comparison.paired_test.p_value:.6g}",
            "mcnemar_p": f"{comparison.mcnemar_p:.6g}",
            "confirmation_calls": str(comparison.confirmation_calls),
            **{f"rule.{r.name}": f"{r.state}: {r.measured} ({r.threshold})" for r in gate.rules},
        },
    )
    text: str = to_xml_report_string([suite], encoding="utf-8")
    return text
