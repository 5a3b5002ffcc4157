"""Fixtures shared across the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The plugin imports PyYAML only when it collects a case file. An in-process pytester run
# that imports it first would have it removed again with the run's other new modules, and
# PyYAML's C extension cannot be imported a second time: import it once, for the session.
import yaml  # noqa: F401

from tests.support.llm_server import FakeLLMServer

TEST_CACHE_DIR = Path(__file__).resolve().parent.parent / ".llmtest" / "test-cache"
"""LLMTEST_CACHE_DIR for every test and every process a test starts: the built-in local model
is assembled once into its models/ (gitignored, kept between sessions, shared by the xdist
workers), and no test writes into the user's real cache folder."""
os.environ["LLMTEST_CACHE_DIR"] = str(TEST_CACHE_DIR)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Docs examples that run the real model are marked ``local_model`` too, and every
    ``local_model`` test goes to one xdist worker (before xdist reads the groups): two
    llama.cpp instances side by side on two cores only measure their contention."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is not None
            and item.path.name == "test_docs.py"
            and "example" in callspec.params
        ):
            from tests.docs.project import uses_local_model

            if uses_local_model(callspec.params["example"]):
                item.add_marker(pytest.mark.local_model)
        if item.get_closest_marker("local_model") is not None:
            item.add_marker(pytest.mark.xdist_group("local-model"))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_xdist_groups(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """What pytest-xdist's ``--dist=loadgroup`` does on a worker, done so pytest 9 sees it.

    xdist (3.8) tells the scheduler a test's group by adding ``@GROUP`` to the test's id, and
    it does so by setting ``item._nodeid``, which pytest 9.2 no longer reads (an item's id is
    ``item._id``): every ``xdist_group`` was ignored, and the local-model tests ran on both
    workers at once, each with its own llama.cpp. Here the id is set where pytest reads it;
    an xdist that does so itself leaves nothing to do.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeLLMServer]:
    """One local OpenAI/Anthropic-compatible server for the session; the model name picks
    its behaviour (see tests/support/llm_server.py)."""
    with FakeLLMServer(retry_after=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys or base URLs must never reach a test."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
