"""The ``llm`` fixture: the configured model, callable from plain Python tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmtest.client import LLM


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """The model from --llm-model, else llmtest_model / [tool.llmtest] model."""
    from llmtest.errors import ConfigError
    from pytest_llmtest.client import LLM
    from pytest_llmtest.state import llm_session

    run = llm_session(pytestconfig).run
    spec = run.models.spec_for()
    if spec is None:
        # An error of the tests that use the fixture, in one line: not a traceback.
        pytest.fail(run.models.no_model_message(for_cases=False), pytrace=False)
    try:
        model = run.models.resolve(spec)
    except ConfigError as exc:
        pytest.fail(str(exc), pytrace=False)
    return LLM(run.start_engine(), model)
