"""The result record: one per case attempt, the contract other tools read (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmtest.assertions.base import AssertionResult, mean_score

if TYPE_CHECKING:
    from llmtest.cases.model import Case
    from llmtest.config.project import ModelConfig

from llmtest.results.figures import Status as Status


@dataclass(frozen=True)
class CaseResult:
    """One attempt of one case against one model. Field names follow the JSONL contract;
    extend, never rename."""

    run_id: str
    suite: str
    case_id: str
    case_hash: str
    model: str
    attempt: int
    status: Status
    assertions: Sequence[AssertionResult]
    output: str | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    tags: Sequence[str]
    error: str | None
    retries: int = 0
    provider_model: str | None = None
    prompt: str | None = None
    min_pass_rate: float = 1.0
    repeat: int = 1

    @property
    def score(self) -> float | None:
        """The mean of the assertions' 0-1 scores, where they have one."""
        return mean_score((a.type, a.score) for a in self.assertions)

    def to_record(self) -> dict[str, Any]:
        return {
            "type": "case",
            "run_id": self.run_id,
            "suite": self.suite,
            "case_id": self.case_id,
            "case_hash": self.case_hash,
            "model": self.model,
            "provider_model": self.provider_model,
            "attempt": self.attempt,
            "status": self.status,
            "assertions": [a.to_record() for a in self.assertions],
            "output": self.output,
            "latency_ms": self.latency_ms,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "cost_usd": self.cost_usd,
            "tags": list(self.tags),
            "error": self.error,
            "retries": self.retries,
            "prompt": self.prompt,
            "repeat": self.repeat,
            "min_pass_rate": self.min_pass_rate,
        }


def skip_record(case: Case, model: ModelConfig | None, run_id: str) -> CaseResult:
    """The record of a case its file marks ``skip:``: the reason is in ``error``."""
    return CaseResult(
        run_id=run_id,
        suite=case.suite,
        case_id=case.id,
        case_hash=case.hash,
        model=model.name if model else "",
        attempt=0,
        status="skip",
        assertions=(),
        output=None,
        latency_ms=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        tags=case.tags,
        error=case.skip,
        prompt=case.prompt,
        min_pass_rate=case.min_pass_rate,
        repeat=case.repeat,
    )
