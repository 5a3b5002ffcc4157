"""Plain Python tests that use the ``llm`` fixture, recorded like cases.

A test file next to the case files is part of the same suite for the person reading the
report: its outcome, the answer it checked and what it cost belong in the results file,
the reports and the gate. The record's suite is the test's file, its id the rest of the
node id, and its one assertion (``python``) is the test itself.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterable
from typing import TypeVar

import pytest

from llmtest._text import shown
from llmtest.assertions.base import AssertionResult
from llmtest.results.record import CaseResult, Status
from pytest_llmtest.client import LLM, Exchange

MESSAGE_CHARS = 500
N = TypeVar("N", int, float)


def uses_llm(item: pytest.Item) -> bool:
    return "llm" in getattr(item, "fixturenames", ())


def python_test_record(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, run_id: str
) -> tuple[CaseResult, list[Exchange]] | None:
    """The record of ``item``'s phase that decided it (setup when it failed or skipped
    there, else the call), with the calls it made; None for a phase that decided nothing."""
    if report.when == "teardown" or (report.when == "setup" and report.passed):
        return None
    llm = item.funcargs.get("llm") if isinstance(item, pytest.Function) else None
    exchanges = llm.take_exchanges() if isinstance(llm, LLM) else []
    answered = [e.response for e in exchanges if e.response is not None]
    status, message = _verdict(call, report, llm if isinstance(llm, LLM) else None)
    suite, _, case_id = report.nodeid.partition("::")
    record = CaseResult(
        run_id=run_id,
        suite=suite,
        case_id=case_id,
        case_hash=_test_hash(item),
        model=llm.model.name if isinstance(llm, LLM) else "",
        attempt=0,
        status=status,
        assertions=()
        if status == "skip"
        else (AssertionResult("python", status == "pass", None, message),),
        output=answered[-1].text if answered else None,
        latency_ms=sum(r.latency_ms for r in answered if r.latency_ms is not None)
        if answered
        else None,
        input_tokens=_total(r.usage.input_tokens for r in answered),
        output_tokens=_total(r.usage.output_tokens for r in answered),
        cost_usd=_total(r.cost_usd for r in answered),
        tags=(),
        error=message if status in ("error", "skip") else None,
        provider_model=answered[-1].model if answered else None,
        prompt=exchanges[-1].prompt if exchanges else None,
    )
    return record, exchanges


def _verdict(
    call: pytest.CallInfo[None], report: pytest.TestReport, llm: LLM | None
) -> tuple[Status, str]:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        return "skip", shown(str(reason).removeprefix("Skipped: "))
    if report.passed:
        return "pass", "the test passed"
    reason = call.excinfo.exconly() if call.excinfo is not None else report.longreprtext
    # The first line: pytest's "+ where …" lines below it repeat objects, not reasons.
    reason = shown(reason.strip().splitlines()[0] if reason.strip() else "the test failed")
    if len(reason) > MESSAGE_CHARS:
        reason = reason[: MESSAGE_CHARS - 1] + "…"
    no_answer = llm is not None and llm.no_answer_prefix in reason
    # A test that could not get its answer, or broke before it ran, has no verdict.
    return ("error" if no_answer or report.when == "setup" else "fail"), reason


def _test_hash(item: pytest.Item) -> str:
    """Changes when the test's code does, as a case's hash does when the case changes."""
    try:
        source = inspect.getsource(item.obj) if isinstance(item, pytest.Function) else ""
    except (OSError, TypeError):
        source = ""
    return hashlib.sha256(f"{item.nodeid}\n{source}".encode()).hexdigest()[:16]


def _total(values: Iterable[N | None]) -> N | None:
    known = [v for v in values if v is not None]
    return sum(known[1:], known[0]) if known else None


def record_properties(
    report: pytest.TestReport, record: CaseResult, exchanges: list[Exchange]
) -> None:
    """The figures pytest's summary and ``--junitxml`` take from a case, for this test."""
    report.user_properties.extend(
        [
            ("llm_model", record.model),
            ("llm_case_hash", record.case_hash),
            ("llm_status", record.status),
            ("llm_calls", len(exchanges)),
            ("llm_retries", 0),
        ]
    )
    tokens = _total([record.input_tokens, record.output_tokens])
    if tokens is not None:
        report.user_properties.append(("llm_tokens", tokens))
    report.llm_latencies_ms = [  # type: ignore[attr-defined]
        e.response.latency_ms
        for e in exchanges
        if e.response is not None and e.response.latency_ms is not None
    ]
