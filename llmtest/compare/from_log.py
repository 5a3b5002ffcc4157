"""A canary log (``llmtest.production.router.CanaryRouter``) as two in-memory results
files, so logged production traffic gets the same comparison, report and gate as two test runs.

Only exchanges both models answered (shadow mode) can be paired: a difference between
models means something only on the same request. Identical requests (same messages and
params) become attempts of one case. Without a suite a side passes unless it errored;
with a suite, an exchange whose last user message is a case's prompt is judged by that
case's assertions, and other exchanges are left out and listed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmtest._text import plural
from llmtest.adapters.base import Message, Response, Usage, last_user_message
from llmtest.cases.model import Case, Suite
from llmtest.config.project import ModelConfig
from llmtest.engine.engine import Attempt, Execution
from llmtest.engine.evaluation import evaluate
from llmtest.errors import LLMTestError
from llmtest.results.jsonl import ResultsFile, new_run_id, read_records
from llmtest.results.record import CaseResult, RunHeader, Status

SIDES = ("baseline", "candidate")


@dataclass
class SideTally:
    """Pass counts of one side over the exchanges it answered alone (no pair to compare)."""

    exchanges: int = 0
    passed: int = 0
    errors: int = 0

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.exchanges if self.exchanges else None

    def count(self, result: CaseResult) -> None:
        self.exchanges += 1
        self.passed += result.status == "pass"
        self.errors += result.status == "error"


@dataclass
class LogConversion:
    """The two sides as results files, and what could not be compared."""

    baseline: ResultsFile
    candidate: ResultsFile
    exchanges: int
    paired: int
    unpaired: dict[str, SideTally] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    skipped_lines: int = 0

    def notes(self) -> list[str]:
        """What a reader of the report must know about the traffic left out."""
        lines: list[str] = []
        alone = sum(t.exchanges for t in self.unpaired.values())
        if alone:
            lines.append(
                f"{alone} of {self.exchanges} exchanges were answered by one model only and "
                "are not in the comparison (it needs both answers to the same request)"
            )
            lines.extend(_tally_line(side, t) for side, t in self.unpaired.items() if t.exchanges)
        if self.unmatched:
            lines.append(
                f"{plural(len(self.unmatched), 'paired exchange')} "
                f"{'matches' if len(self.unmatched) == 1 else 'match'} no case of the suite "
                "(by last user message), so the comparison leaves "
                f"{'it' if len(self.unmatched) == 1 else 'them'} out:"
            )
            lines.extend(f"  unmatched: {_excerpt(p)}" for p in dict.fromkeys(self.unmatched))
        if self.skipped_lines:
            lines.append(f"{plural(self.skipped_lines, 'torn last line')} skipped")
        return lines


def _tally_line(side: str, tally: SideTally) -> str:
    rate = tally.pass_rate
    shown = "n/a" if rate is None else f"{rate:.1%}"
    return (
        f"  {side} alone: {plural(tally.exchanges, 'exchange')}, {tally.passed} passed "
        f"({shown}), {plural(tally.errors, 'error')}"
    )


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def read_log(path: Path | str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Headers and exchanges of a canary log; a torn last line is skipped and counted."""
    path = Path(path)
    records, skipped = read_records(path, "canary log")
    headers: list[dict[str, Any]] = []
    exchanges: list[dict[str, Any]] = []
    for number, record in records:
        if record.get("type") == "canary":
            headers.append(record)
        elif record.get("type") == "exchange":
            if not isinstance(record.get("messages"), list):
                raise LLMTestError(f"{path}:{number}: exchange without a 'messages' list")
            exchanges.append(record)
    if not exchanges and not headers:
        raise LLMTestError(f"{path} has no canary exchanges (is it a canary log?)")
    return headers, exchanges, skipped


def traffic_hash(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """The identity of a request: the same messages and params are the same case."""
    text = json.dumps(
        {"messages": list(messages), "params": dict(params)},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def log_to_results(path: Path | str, suite: Suite | None = None) -> LogConversion:
    """Convert a canary log into a baseline and a candidate results file (in memory)."""
    path = Path(path)
    headers, exchanges, skipped = read_log(path)
    names = _side_names(headers, exchanges)
    cases_by_prompt: dict[str, Case] = {}
    for known in suite.cases if suite else ():
        cases_by_prompt.setdefault(known.prompt, known)
    run_ids = {side: f"{new_run_id()}-{side}" for side in SIDES}
    records: dict[str, list[CaseResult]] = {side: [] for side in SIDES}
    unpaired = {side: SideTally() for side in SIDES}
    unmatched: list[str] = []
    attempts: dict[tuple[str, str], int] = {}
    paired = 0
    suite_name = suite.path if suite else path.name
    for exchange in exchanges:
        messages = _messages(exchange["messages"])
        params = exchange.get("params") or {}
        prompt = last_user_message(messages)
        sides: dict[str, dict[str, Any]] = {
            side: answer for side in SIDES if isinstance(answer := exchange.get(side), dict)
        }
        case = cases_by_prompt.get(prompt) if suite else None
        if len(sides) < 2:
            for side, answer in sides.items():
                unpaired[side].count(_side_result(answer, side, names[side], case, prompt))
            continue
        if suite is not None and case is None:
            unmatched.append(prompt)
            continue
        thash = traffic_hash(messages, params)
        case_id = case.id if case else f"exchange-{thash}"
        index = attempts.get((case_id, thash), 0)
        attempts[(case_id, thash)] = index + 1
        paired += 1
        for side in SIDES:
            result = _side_result(
                sides[side], side, names[side], case, prompt, suite_name, case_id, index
            )
            records[side].append(replace(result, run_id=run_ids[side], case_hash=thash))
    files = {
        side: ResultsFile(
            path=path,
            headers=[_header(run_ids[side], names[side], suite_name, path, side)],
            # Every attempt of a case counts toward its verdict: repeat = how often it was seen.
            cases=[replace(r, repeat=attempts[(r.case_id, r.case_hash)]) for r in records[side]],
        )
        for side in SIDES
    }
    return LogConversion(
        baseline=files["baseline"],
        candidate=files["candidate"],
        exchanges=len(exchanges),
        paired=paired,
        unpaired=unpaired,
        unmatched=unmatched,
        skipped_lines=skipped,
    )


def _side_names(headers: Sequence[Mapping[str, Any]], exchanges: Sequence[Any]) -> dict[str, str]:
    names = {side: side for side in SIDES}
    for side in SIDES:
        for header in headers:
            if header.get(side):
                names[side] = str(header[side])
                break
        else:
            for exchange in exchanges:
                answer = exchange.get(side)
                if isinstance(answer, dict) and answer.get("model"):
                    names[side] = str(answer["model"])
                    break
    if names["baseline"] == names["candidate"]:
        names = {side: f"{names[side]} ({side})" for side in SIDES}
    return names


def _messages(raw: Sequence[Any]) -> tuple[Message, ...]:
    out: list[Message] = []
    for item in raw:
        if isinstance(item, dict) and item.get("role") in ("system", "user", "assistant"):
            out.append(Message(role=item["role"], content=str(item.get("content", ""))))
    return tuple(out)


def _side_result(
    answer: Mapping[str, Any],
    side: str,
    model: str,
    case: Case | None,
    prompt: str,
    suite_name: str = "",
    case_id: str = "",
    index: int = 0,
) -> CaseResult:
    """One side's answer as a result record: judged by the case's assertions when there is
    a case, else passing unless it errored."""
    response = _response(answer)
    error = None if response else str(answer.get("error") or f"{side} gave no answer")
    if case is not None:
        execution = Execution(
            case=case,
            model=ModelConfig(name=model, adapter="canary-log"),
            attempts=(Attempt(index, response, error),),
        )
        result = evaluate(execution).results[0]
        return replace(result, case_id=case_id or case.id, suite=suite_name or case.suite)
    status: Status = "pass" if response is not None else "error"
    usage = response.usage if response else Usage()
    return CaseResult(
        run_id="",
        suite=suite_name,
        case_id=case_id,
        case_hash="",
        model=model,
        attempt=index,
        status=status,
        assertions=(),
        output=response.text if response else None,
        latency_ms=response.latency_ms if response else _number(answer.get("latency_ms")),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=response.cost_usd if response else None,
        tags=(),
        error=error,
        provider_model=response.model if response else None,
        prompt=prompt,
    )


def _response(answer: Mapping[str, Any]) -> Response | None:
    if answer.get("error") is not None or not isinstance(answer.get("text"), str):
        return None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    return Response(
        text=answer["text"],
        model=answer.get("provider_model"),
        latency_ms=_number(answer.get("latency_ms")),
        usage=Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens"))),
        cost_usd=_number(answer.get("cost_usd")),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _header(run_id: str, model: str, suite: str, path: Path, side: str) -> RunHeader:
    return RunHeader(
        run_id=run_id,
        model={"name": model, "adapter": "canary-log"},
        suites={suite: ""},
        started_at="",
        llmtest_version="",
        extra={"source": {"canary_log": str(path), "side": side}},
    )
