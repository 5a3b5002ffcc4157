"""From an execution (the model's answers) to a verdict: assertions run here, not in the engine."""

from __future__ import annotations

from dataclasses import dataclass

from llmtest._text import plural
from llmtest.assertions.base import AssertionResult
from llmtest.engine.engine import Attempt, Execution
from llmtest.errors import LLMTestError, UndecidedAssertion
from llmtest.results.figures import case_verdict
from llmtest.results.record import CaseResult, Status, case_fields

OUTPUT_EXCERPT = 400


@dataclass(frozen=True)
class CaseOutcome:
    """A case's verdict over all its attempts."""

    execution: Execution
    results: tuple[CaseResult, ...]

    @property
    def status(self) -> Status:
        statuses = [r.status for r in self.results]
        verdict = case_verdict(statuses, self.execution.case.min_pass_rate)
        return "fail" if verdict == "skip" else verdict  # a case that ran nothing failed

    @property
    def pass_rate(self) -> float:
        if not self.results:
            return 0.0
        return sum(r.status == "pass" for r in self.results) / len(self.results)

    def headline(self) -> str:
        """Why the case did not pass, most useful words first (pytest's short summary and
        ``llmtest run`` cut this line at the terminal's width): the first broken
        assertion or error, after the pass rate for a repeated case."""
        case = self.execution.case
        first = next((r for result in self.results for r in _reasons(result)), "")
        if case.repeat == 1:
            return first.removeprefix(_ERROR)  # the line is labelled an error already
        passed = sum(r.status == "pass" for r in self.results)
        rate = f"pass rate {passed}/{len(self.results)}, needed {case.min_pass_rate:.2f}"
        return f"{rate}: {first}" if first else rate

    def explain(self) -> str:
        """What a developer reads when the case fails: the headline, every other broken
        assertion or error, and the answer unless a message already shows all of it."""
        case, model = self.execution.case, self.execution.model.name
        lines = [self.headline()]
        shown_first = case.repeat > 1  # the headline's reason is repeated under its attempt
        for result in self.results:
            reasons = _reasons(result)
            if not reasons:
                continue
            prefix = _prefix(result, case.repeat)
            listed = reasons if shown_first else reasons[1:]
            shown_first = True
            lines.extend(f"  {prefix}{reason}" for reason in listed)
            output = _excerpt(result.output) if result.output is not None else None
            if output is not None and not any(output in reason for reason in reasons):
                lines.append(f"  {prefix}output: {output}")
            if case.repeat == 1 and result.status == "fail":
                failed = len(reasons)
                lines.append(
                    f"  ({failed} of {plural(len(result.assertions), 'assertion')} failed, "
                    f"model {model})"
                )
        if case.repeat > 1:
            passed = sum(r.status == "pass" for r in self.results)
            lines.append(
                f"  ({passed} of {plural(len(self.results), 'attempt')} passed, model {model})"
            )
        return "\n".join(lines)


_ERROR = "error: "


def _reasons(result: CaseResult) -> list[str]:
    """What went wrong in one attempt: its error, else each broken assertion."""
    if result.status == "error":
        return [f"{_ERROR}{result.error}"]
    return [f"{a.type}: {a.message}" for a in result.assertions if not a.passed]


def _prefix(result: CaseResult, repeat: int) -> str:
    return f"attempt {result.attempt + 1}: " if repeat > 1 else ""


def _excerpt(text: str | None) -> str:
    if text is None:
        return "(none)"
    if len(text) > OUTPUT_EXCERPT:
        return repr(text[:OUTPUT_EXCERPT]) + f" … ({len(text)} characters)"
    return repr(text)


def evaluate(execution: Execution, run_id: str = "") -> CaseOutcome:
    """Run every assertion on every attempt's answer."""
    results = tuple(_evaluate_attempt(execution, attempt, run_id) for attempt in execution.attempts)
    return CaseOutcome(execution, results)


def _evaluate_attempt(execution: Execution, attempt: Attempt, run_id: str) -> CaseResult:
    case, model = execution.case, execution.model
    response = attempt.response
    assertions: list[AssertionResult] = []
    undecided: list[str] = []  # assertions that could not decide: the attempt is an error
    status: Status
    if response is None:
        status = "error"
    else:
        for spec in case.assertions:
            try:
                assertions.append(spec.check(response))
            except LLMTestError as exc:
                if isinstance(exc, UndecidedAssertion):
                    undecided.append(str(exc))
                assertions.append(AssertionResult(spec.type, False, None, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a broken check decides nothing
                message = f"{spec.type}: the check raised {type(exc).__name__}: {exc}"
                undecided.append(message)
                assertions.append(AssertionResult(spec.type, False, None, message))
        passed = all(a.passed for a in assertions)
        status = "error" if undecided else "pass" if passed else "fail"
    return CaseResult(
        run_id=run_id,
        model=model.name,
        attempt=attempt.index,
        status=status,
        assertions=tuple(assertions),
        output=response.text if response else None,
        latency_ms=response.latency_ms if response else None,
        input_tokens=response.usage.input_tokens if response else None,
        output_tokens=response.usage.output_tokens if response else None,
        cost_usd=response.cost_usd if response else None,
        error="; ".join(undecided) if undecided else attempt.error,
        retries=attempt.retries,
        provider_model=response.model if response else None,
        **case_fields(case),
    )
