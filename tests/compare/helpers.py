"""Baseline and candidate results files for the comparison tests, written by the real
ResultWriter through the report tests' builders."""

from __future__ import annotations

from pathlib import Path

from llmtest.compare import Comparison, GatePolicy, compare_results, evaluate_gate
from llmtest.compare.gate import GateResult
from llmtest.results import CaseResult, ResultsFile
from tests.reports.builders import case, results_file

__all__ = ["case", "compare", "gate", "pair_files"]


def pair_files(
    folder: Path, baseline: list[CaseResult], candidate: list[CaseResult]
) -> tuple[ResultsFile, ResultsFile]:
    cand = [
        CaseResult(**{**vars(c), "model": "candidate-bot", "run_id": "cand-run"}) for c in candidate
    ]
    return (
        results_file(folder, *baseline, name="baseline.jsonl"),
        results_file(folder, *cand, name="candidate.jsonl"),
    )


def compare(folder: Path, baseline: list[CaseResult], candidate: list[CaseResult]) -> Comparison:
    return compare_results(*pair_files(folder, baseline, candidate))


def gate(
    folder: Path,
    baseline: list[CaseResult],
    candidate: list[CaseResult],
    policy: GatePolicy | None = None,
) -> tuple[Comparison, GateResult]:
    comparison = compare(folder, baseline, candidate)
    return comparison, evaluate_gate(comparison, policy or GatePolicy.default())
