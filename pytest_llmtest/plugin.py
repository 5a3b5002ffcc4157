"""pytest hooks: options, collection of case files, pre-submission of model calls, summary.

Inert where unused: importing this module costs only the option table, llmtest's state is
made when a case file is collected (or the ``llm`` fixture used, or an ``--llm-`` option
given), and the hooks that run for every test are registered only once llmtest items
exist.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import pytest

from llmtest.cases.files import DEFAULT_FILE_PATTERNS, is_case_file
from llmtest.config.options import OPTIONS
from pytest_llmtest.fixtures import llm

if TYPE_CHECKING:
    from pytest_llmtest.items import LLMCaseItem
    from pytest_llmtest.state import LLMSession

__all__ = ["llm"]

DIST_MODES_KEEPING_FILES = frozenset({"loadfile", "loadscope"})
"""pytest-xdist modes that send all items of one file to the same worker."""


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
    if _configured(config):
        _state(config)  # asked for: a bad option or setting is a usage error at once


def _configured(config: pytest.Config) -> bool:
    """Whether the run or the project sets anything of llmtest's."""
    if any(config.getoption(option.dest) is not None for option in OPTIONS):
        return True
    if any(config.getini(option.ini) not in (None, "") for option in OPTIONS):
        return True
    from llmtest.config.project import find_pyproject

    pyproject = find_pyproject(config.rootpath)
    return pyproject is not None and b"[tool.llmtest" in pyproject.read_bytes()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_case_file(file_path, parent.config.getini("llmtest_files")):
        from pytest_llmtest.items import LLMCaseFile

        return LLMCaseFile.from_parent(parent, path=file_path)
    return None


gc_paused_key = pytest.StashKey[bool]()
"""Set when collecting a case file paused the cyclic garbage collector."""


def pause_gc_for_collection(config: pytest.Config) -> None:
    """Collecting a large case library allocates millions of long-lived objects (the cases,
    then pytest's items, nodes and reports for them), which the cyclic collector would scan
    over and over (seconds for 10,000 cases). From the first case file on, it is paused
    until collection ends; a project without case files collects as without llmtest."""
    if gc.isenabled():
        gc.disable()
        config.stash[gc_paused_key] = True


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:
        if session.config.stash.get(gc_paused_key, False):
            del session.config.stash[gc_paused_key]
            gc.enable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--llm-shard K/N`` keeps this machine's share of the cases (other tests stay)."""
    state = _existing_state(config)
    shard = state.settings.shard if state is not None else None
    if shard is None:
        return
    keep = [i for i in items if not _is_llm_item(i) or shard.holds(i.case.suite, i.case.id)]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    cases = [item.case for item in _llm_items(session.items)]
    if not cases and not any("llm" in getattr(i, "fixturenames", ()) for i in session.items):
        return
    # The collected cases live as long as the process: out of the cyclic collector's
    # sight, every later collection (and pytest's exit) skips them (reference counting
    # still frees them; only cycles among them wait for the process to end).
    gc.freeze()
    config.pluginmanager.register(ItemHooks(), "llmtest-items")
    if not _is_xdist_worker(config):
        _register_summary(config)
        if not config.option.collectonly:
            _state(config).write_header(cases)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker writes its records under the controller's run id, and
    learns the dist mode (a worker's own ``--dist`` option reads ``no``)."""
    node.workerinput["llmtest_run_id"] = _state(node.config).run.run_id
    node.workerinput["llmtest_dist"] = node.config.getoption("dist", None)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist the controller collects nothing: it writes the header up front, and
    prints the summary of the reports its workers send."""
    if _is_xdist_controller(session.config):
        _register_summary(session.config)
        _state(session.config).write_header([])


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = _existing_state(session.config)
    if state is not None:
        state.finish(controller=not _is_xdist_worker(session.config))


class ItemHooks:
    """The hooks that run for every test, registered only in a session with llmtest items."""

    def __init__(self) -> None:
        self._cases_by_file: dict[pytest.Collector | None, list[LLMCaseItem]] | None = None
        """An xdist worker's cases by case file, made at its first case: each file's cases
        are started once, without a scan of every item per item."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Start every selected case's model calls before the first item runs."""
        if session.config.option.collectonly or _is_xdist_worker(session.config):
            return
        _state(session.config).submit_many(
            (item.nodeid, item.case) for item in _llm_items(session.items) if not item.case.skip
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """An xdist worker learns its items as they are scheduled: start the calls of this
        one and the next, and, where the dist mode keeps a file on one worker, of every
        case of this file."""
        if not _is_xdist_worker(item.config) or not _is_llm_item(item):
            return
        ahead: list[pytest.Item | None] = [item, nextitem]
        workerinput: dict[str, Any] = getattr(item.config, "workerinput", {})
        if workerinput.get("llmtest_dist") in DIST_MODES_KEEPING_FILES:
            if self._cases_by_file is None:
                self._cases_by_file = {}
                for case_item in _llm_items(item.session.items):
                    self._cases_by_file.setdefault(case_item.parent, []).append(case_item)
            ahead.extend(self._cases_by_file.pop(item.parent, ()))
        _state(item.config).submit_many(
            (i.nodeid, i.case) for i in _llm_items(ahead) if not i.case.skip
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """A case its file skips never reaches setup; its record is written here, in the
        process (xdist worker or not) that ran it."""
        report = yield
        if not _is_llm_item(item):
            from pytest_llmtest.python_tests import uses_llm

            if uses_llm(item):
                _state(item.config).record_python_test(item, call, report)
            return report
        if call.when == "setup" and report.skipped and item.case.skip:
            _state(item.config).record_skip(item.case)
        elif item.outcome is not None:
            # Every attempt's latency travels with the report (to the xdist controller too),
            # so the summary's percentiles are taken over attempts, as every report's are.
            report.llm_latencies_ms = [  # type: ignore[attr-defined]
                r.latency_ms for r in item.outcome.results if r.latency_ms is not None
            ]
        return report


def _state(config: pytest.Config) -> LLMSession:
    from pytest_llmtest.state import llm_session

    return llm_session(config)


def _existing_state(config: pytest.Config) -> LLMSession | None:
    """The state if llmtest was needed in this session (without importing it if not)."""
    module = sys.modules.get("pytest_llmtest.state")
    return config.stash.get(module.session_key, None) if module is not None else None


def _register_summary(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("llmtest-summary"):
        from pytest_llmtest.summary import RunSummary

        config.pluginmanager.register(RunSummary(), "llmtest-summary")


def _is_llm_item(item: object) -> TypeGuard[LLMCaseItem]:
    """Whether ``item`` is a case (never true, and nothing imported, in a session that
    collected no case file)."""
    module = sys.modules.get("pytest_llmtest.items")
    return module is not None and isinstance(item, module.LLMCaseItem)


def _llm_items(items: Iterable[object]) -> list[LLMCaseItem]:
    return [i for i in items if _is_llm_item(i)]


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("dsession") and not _is_xdist_worker(config)
