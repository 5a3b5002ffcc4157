"""From the model's answers to a verdict: an assertion that cannot decide makes an error."""

from __future__ import annotations

from typing import Any

import pytest

from llmtest.adapters.base import Message, Response
from llmtest.assertions.base import AssertionResult
from llmtest.cases.model import AssertionSpec, Case
from llmtest.config.project import ModelConfig
from llmtest.engine.engine import Attempt, Execution
from llmtest.engine.evaluation import evaluate
from llmtest.errors import LLMTestError
from tests.assertions.helpers import build

# ``re`` tries 2**40 ways to split the a's before it gives up on the b: hours on any machine.
CATASTROPHIC = "^(a|a)+$"
ALMOST_A_MATCH = "a" * 40 + "b"
TIMED_OUT = (
    "regex '^(a|a)+$': matching the output took longer than 0.05 s "
    "(a pattern that backtracks catastrophically?); simplify it"
)


@pytest.fixture(autouse=True)
def short_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)


def spec(name: str, args: Any) -> AssertionSpec:
    return AssertionSpec(name, args, build(name, args))


def execution(*specs: AssertionSpec, answers: tuple[str, ...] = (ALMOST_A_MATCH,)) -> Execution:
    messages: tuple[Message, ...] = ({"role": "user", "content": "q"},)
    case = Case(
        id="c",
        suite="s.llm.yaml",
        messages=messages,
        assertions=specs,
        hash="h",
        repeat=len(answers),
        min_pass_rate=0.5,
    )
    attempts = tuple(Attempt(i, Response(text=text)) for i, text in enumerate(answers))
    return Execution(case, ModelConfig(name="echo:", adapter="echo"), attempts)


def test_a_pattern_past_its_time_limit_makes_the_attempt_an_error_naming_it() -> None:
    outcome = evaluate(
        execution(spec("contains", "aaa"), spec("regex", CATASTROPHIC), spec("contains", "z"))
    )
    (result,) = outcome.results
    assert (result.status, result.error, outcome.status) == ("error", TIMED_OUT, "error")
    assert [(a.type, a.passed) for a in result.assertions] == [
        ("contains", True),
        ("regex", False),
        ("contains", False),
    ]
    assert result.assertions[1].message == TIMED_OUT
    assert result.output == ALMOST_A_MATCH
    assert outcome.headline() == TIMED_OUT
    assert outcome.explain() == f"{TIMED_OUT}\n  output: {ALMOST_A_MATCH!r}"


def test_one_undecided_attempt_makes_a_repeated_case_an_error_whatever_the_pass_rate() -> None:
    outcome = evaluate(execution(spec("regex", CATASTROPHIC), answers=("aa", ALMOST_A_MATCH)))
    assert [r.status for r in outcome.results] == ["pass", "error"]
    assert [r.error for r in outcome.results] == [None, TIMED_OUT]
    assert outcome.status == "error"
    assert outcome.explain().splitlines()[1] == f"  attempt 2: error: {TIMED_OUT}"


def test_every_undecided_assertion_is_named() -> None:
    outcome = evaluate(execution(spec("regex", CATASTROPHIC), spec("not_regex", CATASTROPHIC)))
    (result,) = outcome.results
    assert result.error == f"{TIMED_OUT}; not_{TIMED_OUT}"


def test_any_other_llmtest_error_of_a_check_is_still_a_failed_assertion() -> None:
    def broken(response: Response) -> AssertionResult:
        raise LLMTestError("the judge is unreachable")

    outcome = evaluate(execution(AssertionSpec("custom", None, broken)))
    (result,) = outcome.results
    assert (result.status, result.error) == ("fail", None)
    assert result.assertions == (
        AssertionResult("custom", False, None, "the judge is unreachable"),
    )


def test_a_check_that_crashes_is_an_error_naming_it_not_a_crashed_run() -> None:
    def buggy(response: Response) -> AssertionResult:
        raise KeyError("score")

    outcome = evaluate(execution(AssertionSpec("plugin_check", None, buggy)))
    (result,) = outcome.results
    message = "plugin_check: the check raised KeyError: 'score'"
    assert (result.status, result.error) == ("error", message)
    assert result.assertions == (AssertionResult("plugin_check", False, None, message),)
