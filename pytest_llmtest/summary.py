"""The ``llmtest summary`` section at the end of a pytest run."""

from __future__ import annotations

from typing import Any

import pytest

from llmtest._text import plural
from llmtest.config.project import model_label
from llmtest.reports.terminal import latency_line
from pytest_llmtest.state import session_key


class RunSummary:
    """Gathers each case's figures from its report's ``user_properties``; reports travel from
    xdist workers to the controller, so the controller alone prints a complete summary."""

    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []
        self.latencies_ms: list[float] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if "llm_status" in properties and (report.when == "call" or report.failed):
            self.cases.append(properties)
            self.latencies_ms.extend(getattr(report, "llm_latencies_ms", ()))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.cases:
            terminalreporter.write_sep("-", "llmtest summary")
            terminalreporter.write_line(summary_line(self.cases, self.latencies_ms))
            state = terminalreporter.config.stash.get(session_key, None)
            if state is not None and state.settings.results:
                replaced = (
                    " (it held an earlier run: replaced)" if state.run.output.replaced else ""
                )
                terminalreporter.write_line(f"results: {state.settings.results}{replaced}")


def summary_line(cases: list[dict[str, Any]], latencies_ms: list[float]) -> str:
    counts = {s: sum(c["llm_status"] == s for c in cases) for s in ("pass", "fail", "error")}
    models = sorted({model_label(str(c["llm_model"])) for c in cases})
    line = (
        f"{plural(len(cases), 'case')} on {', '.join(models)} · {counts['pass']} passed, "
        f"{counts['fail']} failed, {plural(counts['error'], 'error')} · "
        f"{plural(sum(int(c.get('llm_calls', 0)) for c in cases), 'attempt')}, "
        f"{plural(sum(int(c.get('llm_retries', 0)) for c in cases), 'retry', 'retries')}"
    )
    if any("llm_tokens" in c for c in cases):
        line += f", {sum(int(c.get('llm_tokens', 0)) for c in cases)} tokens"
    if latencies_ms:
        line += " · " + latency_line(latencies_ms)
    return line
