"""A machine-readable summary of a run, for dashboards and scripts that should not have to
group attempts into cases themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmtest import __version__
from llmtest.reports._files import write_report
from llmtest.results.jsonl import ResultsFile
from llmtest.results.summary import RunSummary, summarize

FORMAT_VERSION = 1


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "generated_by": f"llmtest {__version__}",
        "run": summary.header.to_record() if summary.header else {},
        "ok": summary.ok,
        "totals": summary.totals_dict(),
        "by_tag": [t.to_dict() for t in summary.by_tag],
        "latency": summary.latency.to_dict(),
        "skipped_lines": summary.skipped_lines,
        "cases": [c.to_dict() for c in summary.cases],
    }


def render_json(results: ResultsFile) -> str:
    data = summary_dict(summarize(results))
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def write_json(results: ResultsFile, path: Path) -> None:
    write_report(path, render_json(results))
