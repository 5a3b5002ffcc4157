"""pytest hooks: options, collection of case files, pre-submission of model calls, summary."""

from __future__ import annotations

import gc
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from llmtest.cases.selection import DEFAULT_FILE_PATTERNS, is_case_file
from llmtest.config.options import OPTIONS
from llmtest.engine._gc import gc_paused
from pytest_llmtest.fixtures import llm
from pytest_llmtest.items import LLMCaseFile, LLMCaseItem
from pytest_llmtest.state import LLMSession, session_key
from pytest_llmtest.summary import RunSummary

__all__ = ["llm"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmtest", "LLM regression tests (llmtest)")
    for option in OPTIONS:
        group.addoption(
            option.pytest_flag,
            dest=option.dest,
            type=option.argparse_type,
            default=None,
            metavar=option.metavar,
            help=option.help,
        )
        parser.addini(option.ini, help=option.help, default=None)
    parser.addini(
        "llmtest_files",
        type="linelist",
        default=list(DEFAULT_FILE_PATTERNS),
        help="glob patterns of case files to collect (default: test_*.llm.yaml/yml/jsonl/csv)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llmtest: a case from an llmtest case file")
    config.stash[session_key] = LLMSession(config)
    if not _is_xdist_worker(config):
        config.pluginmanager.register(RunSummary(), "llmtest-summary")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> LLMCaseFile | None:
    patterns = parent.config.getini("llmtest_files")
    if is_case_file(file_path, patterns):
        return LLMCaseFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, Any, None]:
    """Collecting a large case library allocates millions of long-lived objects; the cyclic
    garbage collector would scan them over and over (seconds for 10,000 cases), and again at
    pytest's and the interpreter's exit. Pause it while collecting, and once cases exist,
    freeze what was collected out of its sight for the rest of the process (reference
    counting still frees them; only cycles among them wait for the process to end)."""
    with gc_paused(freeze=False):
        yield
    if any(isinstance(item, LLMCaseItem) for item in session.items):
        gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--llm-shard K/N`` keeps this machine's share of the cases (other tests stay)."""
    shard = config.stash[session_key].shard
    if shard is None:
        return
    keep = [
        i for i in items if not isinstance(i, LLMCaseItem) or shard.holds(i.case.suite, i.case.id)
    ]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[session_key]
    if not _is_xdist_worker(session.config) and not session.config.option.collectonly:
        cases = [i.case for i in session.items if isinstance(i, LLMCaseItem)]
        state.write_header(state.suites, cases)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker writes its records under the controller's run id."""
    node.workerinput["llmtest_run_id"] = node.config.stash[session_key].run_id


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist the controller collects nothing, so it writes the header up front."""
    config = session.config
    if config.pluginmanager.has_plugin("dsession") and not _is_xdist_worker(config):
        config.stash[session_key].write_header({}, [])


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start every selected case's model calls before the first item runs."""
    if session.config.option.collectonly or _is_xdist_worker(session.config):
        return
    state = session.config.stash[session_key]
    state.submit_many(
        (item.nodeid, item.case)
        for item in session.items
        if isinstance(item, LLMCaseItem) and not item.case.skip
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Under xdist each worker only learns its items as they are scheduled: start the
    calls of everything already queued for this worker."""
    if not _is_xdist_worker(item.config):
        return
    state = item.config.stash[session_key]
    state.submit_many(
        (queued.nodeid, queued.case)
        for queued in (item, nextitem, *_xdist_queued_items(item))
        if isinstance(queued, LLMCaseItem) and not queued.case.skip
    )


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _xdist_queued_items(item: pytest.Item) -> list[pytest.Item]:
    """The items pytest-xdist has queued on this worker (best effort: its internals)."""
    session = item.session
    for plugin in item.config.pluginmanager.get_plugins():
        queue = getattr(plugin, "torun", None)
        if queue is None or not hasattr(queue, "lock"):
            continue
        try:
            with queue.lock() as indices:
                queued = [i for i in indices if isinstance(i, int)]
        except Exception:  # noqa: BLE001 - xdist internals changed: fall back
            return []
        return [session.items[i] for i in queued if i < len(session.items)]
    return []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """A case its file skips never reaches setup; its record is written here, in the
    process (xdist worker or not) that ran it."""
    outcome = yield
    report = outcome.get_result()
    if call.when == "setup" and report.skipped and isinstance(item, LLMCaseItem) and item.case.skip:
        item.config.stash[session_key].record_skip(item.case)


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, Any, None]:
    yield
    state = session.config.stash.get(session_key, None)
    if state is not None:
        state.close()
        if state.results_path and not _is_xdist_worker(session.config):
            state.record_history()
