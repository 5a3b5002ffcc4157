"""JUnit XML for CI dashboards, written through the ``junit-xml`` package.

One ``<testcase>`` per case, not per attempt, so a dashboard counts what the gate counts: a
case repeated five times is one test whose pass rate is a property.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string  # type: ignore[import-untyped]

from llmtest import __version__
from llmtest._text import plural
from llmtest.reports._files import write_report
from llmtest.reports.format import truncate
from llmtest.results.jsonl import ResultsFile
from llmtest.results.summary import CaseSummary, RunSummary, summarize

MESSAGE_CHARS = 500
OUTPUT_CHARS = 2000


class _SuiteWithCaseProperties(TestSuite):  # type: ignore[misc]
    """junit-xml 1.9 has properties only on ``<testsuite>``; GitLab, Jenkins and pytest's own
    ``record_property`` put a case's figures in ``<properties>`` inside its ``<testcase>``,
    so this adds them there after the package has built the suite."""

    def __init__(
        self,
        name: str,
        cases: list[tuple[Any, dict[str, str]]],
        **kwargs: Any,
    ) -> None:
        super().__init__(name, [case for case, _ in cases], **kwargs)
        self.case_properties = [props for _, props in cases]

    def build_xml_doc(self, encoding: str | None = None) -> ET.Element:
        element: ET.Element = super().build_xml_doc(encoding)
        testcases = element.findall("testcase")
        for testcase, props in zip(testcases, self.case_properties, strict=True):
            if not props:
                continue
            holder = ET.Element("properties")
            for name, value in props.items():
                ET.SubElement(holder, "property", {"name": name, "value": value})
            testcase.insert(0, holder)
        return element


def _case_properties(case: CaseSummary) -> dict[str, str]:
    """The names pytest's --junitxml gives the same figures (``llm_*``), so a dashboard reads
    both alike."""
    props = {
        "llm_model": case.model,
        "llm_case_hash": case.case_hash,
        "llm_status": case.status,
    }
    if case.provider_model:
        props["llm_provider_model"] = case.provider_model
    if case.latency_ms is not None:
        props["llm_latency_ms"] = f"{case.latency_ms:.1f}"
    if case.score is not None:
        props["llm_score"] = f"{case.score:.4g}"
    if case.input_tokens is not None or case.output_tokens is not None:
        props["llm_tokens"] = f"{(case.input_tokens or 0) + (case.output_tokens or 0):.0f}"
    for name, value in (("input_tokens", case.input_tokens), ("output_tokens", case.output_tokens)):
        if value is not None:
            props[f"llm_{name}"] = f"{value:.0f}"
    if case.status != "skip":  # as pytest: a skipped case made no call
        props["llm_calls"] = str(case.counted_attempts)
        props["llm_retries"] = str(case.retries)
    if case.repeated:
        props["llm_pass_rate"] = "" if case.pass_rate is None else f"{case.pass_rate:.4g}"
        props["llm_min_pass_rate"] = f"{case.min_pass_rate:.4g}"
    if case.tags:
        props["llm_tags"] = ",".join(case.tags)
    if case.cost_usd is not None:
        props["llm_cost_usd"] = f"{case.cost_usd:.6g}"
    return props


def _attempts_line(case: CaseSummary) -> str:
    return (
        f"{case.passed_attempts} of {plural(case.counted_attempts, 'attempt')} passed; "
        f"the case needs a pass rate of {case.min_pass_rate:.0%}"
    )


def _failure_text(case: CaseSummary) -> tuple[str, str]:
    """The failure's one-line message and its body: every failed assertion, then the output."""
    failed = case.failed_assertions
    lines = [_attempts_line(case)] if case.repeated else []
    for item in failed:
        times = f" (in {plural(item.attempts, 'attempt')})" if case.repeated else ""
        lines.append(f"{item.type}: {truncate(item.message, MESSAGE_CHARS)}{times}")
    if case.output is not None:
        lines += ["", "output:", truncate(case.output, OUTPUT_CHARS)]
    message = failed[0].message if failed else _attempts_line(case)
    return truncate(message, MESSAGE_CHARS), "\n".join(lines)


def _test_case(case: CaseSummary, *, with_model: bool) -> Any:
    name = f"{case.case_id} [{case.model}]" if with_model else case.case_id
    latencies = case.latencies_ms
    test = TestCase(
        name,
        classname=case.suite,
        elapsed_sec=sum(latencies) / 1000 if latencies else None,
        assertions=sum(len(a.assertions) for a in case.attempts) or None,
    )
    if case.status == "fail":
        message, body = _failure_text(case)
        test.add_failure_info(message=message, output=body, failure_type="llmtest.fail")
    elif case.status == "error":
        errors = case.errors or ["the model gave no answer"]
        body = "\n".join(errors)
        if case.repeated:
            body = f"{_attempts_line(case)}\n{body}"
        test.add_error_info(
            message=truncate(errors[0], MESSAGE_CHARS), output=body, error_type="llmtest.error"
        )
    elif case.status == "skip":
        test.add_skipped_info(message=case.skip_reason or "skipped")
    return test


def _suite_properties(summary: RunSummary) -> dict[str, str]:
    props = {
        "llm_run_id": summary.run_id or "",
        "llm_model": summary.model_label,
        "llmtest_version": summary.llmtest_version or __version__,
    }
    if summary.git_sha:
        props["llm_git_sha"] = summary.git_sha
    return props


def render_junit(results: ResultsFile) -> str:
    summary = summarize(results)
    with_model = len(summary.models) > 1
    by_suite: dict[str, list[tuple[Any, dict[str, str]]]] = {}
    for case in summary.cases:
        by_suite.setdefault(case.suite, []).append(
            (_test_case(case, with_model=with_model), _case_properties(case))
        )
    if not by_suite:
        by_suite["llmtest"] = []
    started = summary.header.started_at if summary.header else None
    suites = [
        _SuiteWithCaseProperties(
            name,
            cases,
            timestamp=started or None,
            properties=_suite_properties(summary),
        )
        for name, cases in by_suite.items()
    ]
    xml: str = to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
    return xml


def write_junit(results: ResultsFile, path: Path) -> None:
    write_report(path, render_junit(results))
