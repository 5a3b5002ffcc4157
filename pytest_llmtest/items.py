"""Case files as pytest collectors and cases as pytest items (pytest's YAML-example shape)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from llmtest._text import shown
from llmtest.assertions.base import mean_score
from llmtest.cases import Case, Suite, load_suite
from llmtest.cases.loader import display_path
from llmtest.engine.evaluation import CaseOutcome, evaluate
from llmtest.errors import CaseFileError, ConfigError, LLMTestError
from pytest_llmtest.plugin import pause_gc_for_collection
from pytest_llmtest.state import LLMSession, llm_session

TAG_MARKER_HELP = "llmtest case tag (from a case file)"
LLMTEST_MARK = pytest.mark.llmtest


class ModelCallFailed(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """The model gave no answer. Raised during setup, so pytest reports an *error*, never a
    failure; ``pytrace=False`` keeps our internals out of the report."""

    # As pytest does for its own Failed: the short summary then reads
    # "ModelCallFailed: model ... gave no answer", not our module path.
    __module__ = "builtins"

    def __init__(self, message: str) -> None:
        super().__init__(shown(message), pytrace=False)


class AssertionUndecided(ModelCallFailed):
    """The model answered, but an assertion could not decide (a regex past its time
    limit): no verdict either, so an *error* too."""

    __module__ = "builtins"


class CaseFailed(Exception):
    """The model answered and broke an assertion: a pytest *failure*."""

    def __init__(self, outcome: CaseOutcome) -> None:
        super().__init__(shown(outcome.explain()))
        self.outcome = outcome


class LLMCaseFile(pytest.File):
    def collect(self) -> Iterator[LLMCaseItem]:
        pause_gc_for_collection(self.config)
        state = llm_session(self.config)
        try:
            root = self.config.rootpath
            suite = load_suite(self.path, display_path(self.path, root), root)
            if state.settings.model is None:
                _check_models(state, suite)
        except LLMTestError as exc:
            raise self.CollectError(shown(str(exc))) from None
        if not suite.cases:
            # Not an error (a suite may wait for its cases), but never silent: "no tests
            # ran" alone does not say which file was empty.
            self.warn(pytest.PytestWarning(shown(f"{suite.path}: the file has no cases")))
        for case in suite.cases:
            if state.settings.repeat is not None:
                case = dataclasses.replace(case, repeat=state.settings.repeat)
            item = LLMCaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker(LLMTEST_MARK)
            if case.skip:
                # A mark, not pytest.skip() in setup: the report then points at the case.
                item.add_marker(pytest.mark.skip(reason=case.skip))
            for tag in case.tags:
                item.add_marker(self._tag_mark(state, tag))
            yield item
        state.suites[suite.path] = suite.hash

    def _tag_mark(self, state: LLMSession, tag: str) -> pytest.MarkDecorator:
        """A tag's marker, registered the first time it is seen (``--strict-markers``);
        made once per tag, as 10,000 cases would otherwise look each up 10,000 times."""
        mark = state.tag_marks.get(tag)
        if mark is None:
            self.config.addinivalue_line("markers", f"{tag}: {TAG_MARKER_HELP}")
            mark = state.tag_marks[tag] = getattr(pytest.mark, tag)
        return mark


def _check_models(state: LLMSession, suite: Suite) -> None:
    """An unknown alias or adapter in a case file is that file's collection error."""
    if suite.model is not None:
        try:
            state.run.models.resolve(suite.model)
        except ConfigError as exc:
            raise CaseFileError(
                suite.path, str(exc), line=suite.model_line, field="model"
            ) from None
    for case in suite.cases:
        if case.model is None or case.model == suite.model:
            continue
        try:
            state.run.models.resolve(case.model)
        except ConfigError as exc:
            raise CaseFileError(
                suite.path, str(exc), line=case.line, case_id=case.id, field="model"
            ) from None


class LLMCaseItem(pytest.Item):
    """Setup waits for the model's answers and judges them: a case with no verdict (no
    answer, or an assertion that could not decide) is an error there; the call phase
    fails the case if its verdict is a failure."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.outcome: CaseOutcome | None = None

    @property
    def state(self) -> LLMSession:
        return llm_session(self.config)

    def setup(self) -> None:
        try:
            self.state.model_for(self.case)
        except ConfigError as exc:
            raise ModelCallFailed(str(exc)) from None
        future = self.state.submit(self.nodeid, self.case)
        assert future is not None
        self.execution = future.result()
        errors = self.execution.errors
        if errors:
            self._finish(evaluate(self.execution, self.state.run.run_id))
            unique = list(dict.fromkeys(errors))
            detail = unique[0] if len(unique) == 1 else "\n".join(f"- {e}" for e in unique)
            count = (
                f"{len(errors)} of {len(self.execution.attempts)} calls failed: "
                if len(self.execution.attempts) > 1
                else ""
            )
            raise ModelCallFailed(
                f"model {self.execution.model.name} gave no answer: {count}{detail}"
            )
        outcome = self._finish(evaluate(self.execution, self.state.run.run_id))
        if outcome.status == "error":
            undecided = dict.fromkeys(r.error for r in outcome.results if r.error)
            raise AssertionUndecided("\n".join(undecided))

    def runtest(self) -> None:
        assert self.outcome is not None
        if self.outcome.status != "pass":
            raise CaseFailed(self.outcome)

    def _finish(self, outcome: CaseOutcome) -> CaseOutcome:
        self.outcome = outcome
        try:
            self.state.record(outcome)
        except LLMTestError as exc:  # a full disk: stop the session, in one line
            pytest.exit(f"llmtest: {exc}", returncode=pytest.ExitCode.INTERRUPTED)
        self._record_properties()
        return outcome

    def _record_properties(self) -> None:
        assert self.outcome is not None
        results = self.outcome.results
        self.user_properties.append(("llm_model", self.outcome.execution.model.name))
        self.user_properties.append(("llm_case_hash", self.case.hash))
        self.user_properties.append(("llm_status", self.outcome.status))
        latencies = [r.latency_ms for r in results if r.latency_ms is not None]
        if latencies:
            self.user_properties.append(
                ("llm_latency_ms", round(sum(latencies) / len(latencies), 1))
            )
        score = mean_score((a.type, a.score) for r in results for a in r.assertions)
        if score is not None:
            self.user_properties.append(("llm_score", round(score, 4)))
        if any(r.input_tokens is not None or r.output_tokens is not None for r in results):
            tokens = sum((r.input_tokens or 0) + (r.output_tokens or 0) for r in results)
            self.user_properties.append(("llm_tokens", tokens))
        self.user_properties.append(("llm_calls", len(results)))
        self.user_properties.append(("llm_retries", sum(r.retries for r in results)))
        if self.case.repeat > 1:
            self.user_properties.append(("llm_pass_rate", round(self.outcome.pass_rate, 4)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (CaseFailed, ModelCallFailed)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.case.line - 1 if self.case.line else None
        # The domain heads the failure report. pytest prints a domain that ends the node id
        # with its dots as '::' (for Python names), so an id with dots is named differently.
        domain = self.case.id if "." not in self.case.id else f"case {self.case.id}"
        return self.path, line, domain
