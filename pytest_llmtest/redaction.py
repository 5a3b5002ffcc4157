"""Secrets out of pytest's reports: the text a failing test shows is ours to mask too."""

from __future__ import annotations

import pytest

from llmtest.config.secrets import Redactor


def redact_report(report: pytest.TestReport) -> None:
    """Mask known secrets in the report's traceback and sections, in place. A traceback
    that holds one becomes its masked text (losing only its colours)."""
    redact = Redactor()
    if not redact.secrets:
        return
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
