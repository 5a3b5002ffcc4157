"""Real results files for the report tests: CaseResults written by a ResultWriter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmtest.assertions.base import AssertionResult
from llmtest.results import CaseResult, ResultsFile, ResultWriter, RunHeader, Status, load_results

SUITE = "tests/test_support.llm.yaml"
RUN_ID = "20250101T000000Z-feedbeef"


def check(
    passed: bool, message: str = "", *, type: str = "contains", score: float | None = None
) -> AssertionResult:
    return AssertionResult(
        type, passed, score, message or ("ok" if passed else "expected '30 days'")
    )


def case(
    case_id: str = "refund-window",
    status: Status = "pass",
    *,
    attempt: int = 0,
    assertions: Sequence[AssertionResult] | None = None,
    output: str | None = "Items can be returned within 30 days.",
    latency_ms: float | None = 100.0,
    tags: Sequence[str] = (),
    error: str | None = None,
    **fields: Any,
) -> CaseResult:
    if assertions is None:
        assertions = () if status in ("error", "skip") else (check(status == "pass"),)
    values: dict[str, Any] = {
        "run_id": RUN_ID,
        "suite": SUITE,
        "case_id": case_id,
        "case_hash": f"hash-{case_id}",
        "model": "support-bot",
        "attempt": attempt,
        "status": status,
        "assertions": tuple(assertions),
        "output": None if status == "error" else output,
        "latency_ms": None if status == "error" else latency_ms,
        "input_tokens": 10,
        "output_tokens": 20,
        "cost_usd": 0.001,
        "tags": tuple(tags),
        "error": error if error is not None or status != "error" else "timed out after 30 s",
    }
    values.update(fields)
    return CaseResult(**values)


def skipped(case_id: str, reason: str | None = "not on this model", **fields: Any) -> CaseResult:
    """A ``skip:`` case's record as the runner writes it: the reason, and no call made."""
    values: dict[str, Any] = {
        "output": None,
        "latency_ms": None,
        "input_tokens": None,
        "output_tokens": None,
        "cost_usd": None,
        **fields,
    }
    return case(case_id, "skip", error=reason, **values)


def repeated(
    case_id: str, statuses: Sequence[Status], *, min_pass_rate: float = 1.0, **fields: Any
) -> list[CaseResult]:
    """One case with ``repeat: len(statuses)``: one record per attempt."""
    return [
        case(
            case_id,
            status,
            attempt=index,
            repeat=len(statuses),
            min_pass_rate=min_pass_rate,
            **fields,
        )
        for index, status in enumerate(statuses)
    ]


def results_file(folder: Path, *cases: CaseResult, name: str = "results.jsonl") -> ResultsFile:
    """Write a header and ``cases`` with the real writer, and read the file back."""
    path = folder / name
    with ResultWriter(path) as writer:
        writer.write_header(
            RunHeader(
                RUN_ID,
                {"name": "support-bot", "adapter": "openai", "model": "gpt-4o-mini"},
                {SUITE: "abc123"},
                started_at="2025-01-01T12:00:00+00:00",
                git_sha="0123456789abcdef0123",
            )
        )
        for result in cases:
            writer.write(result)
    return load_results(path)
