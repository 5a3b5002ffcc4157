"""Reports from a results file: JUnit XML, Markdown, JSON and a self-contained HTML page.

Each reporter is ``write_X(results, path)`` (and ``render_X(results) -> str``); all of them
read the same :func:`~llmtest.results.summary.summarize` so they never disagree.
"""

from llmtest.reports.html import render_html, write_html
from llmtest.reports.json_report import render_json, write_json
from llmtest.reports.junit import render_junit, write_junit
from llmtest.reports.markdown import render_markdown, write_markdown
from llmtest.results.summary import CaseSummary, RunSummary, summarize

__all__ = [
    "CaseSummary",
    "RunSummary",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "summarize",
    "write_html",
    "write_json",
    "write_junit",
    "write_markdown",
]
