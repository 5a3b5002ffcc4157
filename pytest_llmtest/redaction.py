"""Secrets out of pytest's reports: the text a failing test shows is ours to mask too."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from llmtest.config.secrets import Redactor


def redact_report(report: pytest.TestReport) -> None:
    """Mask known secrets in the report's traceback and sections, in place. A traceback
    that holds one becomes its masked text (losing only its colours)."""
    redactor = Redactor()
    if not redactor.secrets:
        return
    redact = redactor.fragments  # pytest's reprs cut long values: their ends remain
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = longrepr
        report.longrepr = (path, line, redact(reason))
    elif longrepr is not None:
        text = str(longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]


class ReportRedaction:
    """Registered once llmtest is in use in a session (the first case file, the ``llm``
    fixture, an ``--llm-`` option): every test's report is masked before xdist or
    ``--junitxml`` sees it. A session that never uses llmtest never pays for it."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        redact_report(report)
        return report
