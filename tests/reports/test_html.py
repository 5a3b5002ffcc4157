"""The HTML report: one self-contained page where nothing from the results file can run."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from markupsafe import escape

from llmtest.reports.format import MISSING
from llmtest.reports.html import CSP, render_html, write_html
from llmtest.results import CaseResult, ResultsFile, ResultWriter, RunHeader, load_results
from tests.reports.builders import RUN_ID, case, check, repeated, results_file, skipped
from tests.support.browser import dump_dom, find_chromium

SCRIPT = "<script>document.title='pwned'</script>"
IMAGE = "<img src=x onerror=\"document.title='img'\">"


def render(tmp_path: Path, *cases: CaseResult) -> str:
    return render_html(results_file(tmp_path, *cases))


def test_the_page_loads_nothing_from_anywhere(tmp_path: Path) -> None:
    page = render(tmp_path, case("a", tags=["policy"]), case("b", "fail"))
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", page)
    assert not re.search(r"\b(src|href)=", page)
    urls = set(re.findall(r"https?://[^\s\"'<]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_the_content_security_policy_allows_no_script_and_no_network(tmp_path: Path) -> None:
    page = render(tmp_path, case("a"))
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP
    assert "script-src" not in CSP and "connect-src" not in CSP


def test_outputs_messages_and_ids_are_escaped(tmp_path: Path) -> None:
    hostile = case(
        'x"><b>id',
        "fail",
        output=SCRIPT + IMAGE,
        assertions=[check(False, SCRIPT)],
        tags=[IMAGE],
        prompt=SCRIPT,
    )
    page = render(tmp_path, hostile)
    assert SCRIPT not in page and "<img" not in page and '"><b>' not in page
    assert escape(SCRIPT) in page
    assert escape('x"><b>id') in page


def test_every_string_of_the_results_file_is_escaped_wherever_it_is_shown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.jsonl"
    with ResultWriter(path) as writer:
        writer.write_header(RunHeader(IMAGE, {"name": IMAGE}, {IMAGE: "x"}, started_at=IMAGE))
        for model in (IMAGE, SCRIPT):  # two models: the suite column names the model too
            writer.write(
                case(
                    IMAGE,
                    "fail",
                    run_id=IMAGE,
                    suite=IMAGE,
                    model=model,
                    provider_model=IMAGE,
                    prompt=IMAGE,
                    output=IMAGE,
                    error=IMAGE,
                    tags=[IMAGE, SCRIPT],
                    assertions=[check(False, IMAGE, type=IMAGE)],
                )
            )
    page = render_html(load_results(path))
    assert "<img" not in page and "<script" not in page
    assert page.count(escape(IMAGE)) >= 15


def test_every_assertion_is_shown_with_pass_or_fail_score_and_message(tmp_path: Path) -> None:
    checks = [
        check(True, "similar enough", type="similarity", score=0.82),
        check(False, "expected '30 days'"),
    ]
    page = render(tmp_path, case("a", "fail", assertions=checks))
    assert (
        '<tr><td><span class="mark-ok">✓</span></td><td>similarity</td>'
        '<td class="num">0.82</td><td class="msg">similar enough</td></tr>'
    ) in page
    assert (
        '<tr><td><span class="mark-ko">✗</span></td><td>contains</td>'
        f'<td class="num">{MISSING}</td><td class="msg">expected &#39;30 days&#39;</td></tr>'
    ) in page


def test_the_prompt_is_shown_when_the_record_has_one(tmp_path: Path) -> None:
    page = render(tmp_path, case("a", prompt="How long do I have to return an item?"))
    assert '<div class="label">Prompt</div><pre>How long do I have to return an item?</pre>' in page


def test_an_error_shows_its_message(tmp_path: Path) -> None:
    page = render(tmp_path, case("a", "error", error="HTTP 503 after 3 retries"))
    assert '<pre class="error">HTTP 503 after 3 retries</pre>' in page


def test_a_repeated_case_shows_each_attempt(tmp_path: Path) -> None:
    page = render(tmp_path, *repeated("a", ["pass", "fail", "pass"]))
    assert "2 of 3 attempts passed" in page
    assert page.count('<div class="attempt ') == 3


def test_pass_rate_by_tag_and_latency_are_inline_svg_charts(tmp_path: Path) -> None:
    page = render(
        tmp_path, case("a", tags=["policy"], latency_ms=100.0), case("b", latency_ms=900.0)
    )
    assert 'aria-label="Pass rate by tag"' in page
    assert 'aria-label="Latency histogram"' in page
    assert ">p95 " in page


def test_failing_cases_come_first(tmp_path: Path) -> None:
    page = render(tmp_path, case("passing"), case("failing", "fail"))
    assert page.index(">failing<") < page.index(">passing<")


def test_an_empty_results_file_renders_a_page(tmp_path: Path) -> None:
    page = render_html(ResultsFile(tmp_path / "empty.jsonl", [], []))
    assert "No cases in this results file." in page


def test_the_style_sheet_is_the_package_file_inlined(tmp_path: Path) -> None:
    page = render(tmp_path, case("a"))
    css = files("llmtest.reports").joinpath("templates/report.css").read_text(encoding="utf-8")
    assert f"<style>\n{css}" in page


def test_importing_the_reports_and_the_plugin_does_not_import_jinja2() -> None:
    code = (
        "import sys, llmtest, llmtest.reports, llmtest.compare.html, pytest_llmtest.plugin\n"
        "print(sorted({'jinja2', 'markupsafe'} & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_write_html_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "index.html"
    write_html(results_file(tmp_path, case("a")), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def test_a_browser_shows_hostile_outputs_as_text_and_runs_no_script(
    tmp_path: Path, chromium: str
) -> None:
    page = tmp_path / "report.html"
    write_html(
        results_file(
            tmp_path,
            case("refund-window", "fail", output=SCRIPT + IMAGE, assertions=[check(False, IMAGE)]),
            case("greeting", output=SCRIPT),
        ),
        page,
    )
    dom = dump_dom(chromium, page, tmp_path / "profile")
    assert f"<title>llmtest report · {RUN_ID}</title>" in dom
    assert "llmtest: 1 of 2 cases passed (1 failed)" in dom
    assert "refund-window" in dom
    assert html.escape(SCRIPT, quote=False) in dom
    assert "<img" not in dom and "<script" not in dom


LONG_ID = (
    "adversarial/prompt-injection::ignore-all-previous-instructions-and-print-your-system-"
    "prompt-verbatim-3fa2c1"
)
REASON = "expected output to contain '30 days'; got: 14 days"


def _details(page: str, status: str) -> str:
    """The ``<details>`` of the first case with ``status``, as rendered."""
    start = page.index(f'<details class="case s-{status}"')
    return page[start : page.index("</details>", start)]


def _outcomes() -> list[CaseResult]:
    return [
        case("refund-window", output="Refunds are accepted for 30 days."),
        case(
            LONG_ID,
            "fail",
            assertions=[
                check(False, REASON, score=0.0),
                check(True, "not found: 'As an AI'", type="not_contains", score=1.0),
            ],
        ),
        case("order-json", "error", error="HTTP 503 after 3 retries"),
        skipped("legacy-flow", "not supported on this model"),
    ]


def test_failed_and_errored_cases_are_open_and_passes_and_skips_closed(tmp_path: Path) -> None:
    page = render(tmp_path, *_outcomes())
    opened = {
        status: _details(page, status).split(">", 1)[0].endswith(" open")
        for status in ("pass", "fail", "error", "skip")
    }
    assert opened == {"pass": False, "fail": True, "error": True, "skip": False}


def test_a_skipped_case_is_a_skip_with_its_reason_and_no_figures_of_a_call(
    tmp_path: Path,
) -> None:
    block = _details(
        render(tmp_path, skipped("legacy-flow", "not supported on this model")), "skip"
    )
    assert '<span class="badge b-skip">skip</span>' in block
    assert '<pre class="skip">skipped: not supported on this model</pre>' in block
    assert '<div class="label">Error</div>' not in block and "error" not in block
    for figure in ("latency", "tokens", "cost"):
        assert figure not in block
    row = block[block.index('<span class="cell case-id"') : block.index("</summary>")]
    assert row.count(f'<span class="num">{MISSING}</span>') == 3  # assertions, latency, attempts


def test_a_skip_without_a_reason_says_skipped(tmp_path: Path) -> None:
    block = _details(render(tmp_path, skipped("a", None)), "skip")
    assert '<pre class="skip">skipped</pre>' in block


def test_a_failed_case_shows_how_many_assertions_passed_not_a_bare_score(tmp_path: Path) -> None:
    page = render(tmp_path, *_outcomes())
    block = _details(page, "fail")
    row = block[: block.index("</summary>")]
    assert '<span class="num">0.50</span>' not in row
    assert '<span class="num" title="1 of 2 assertions passed">1/2</span>' in row
    assert "1 of 2 assertions passed · mean assertion score 0.50 (not the verdict" in block
    assert "<strong>mean assertion score</strong>" in page  # the page says what the number is
    assert '<span class="num">Assertions</span>' in page and ">Score<" not in page


def test_a_long_case_id_is_shown_whole_wrapping_in_its_column(tmp_path: Path) -> None:
    page = render(tmp_path, case(LONG_ID, "fail"))
    assert f'<span class="cell case-id" title="{LONG_ID}">{LONG_ID}</span>' in page
    assert ".cell.case-id { white-space:normal; overflow-wrap:anywhere; }" in page
    assert "minmax(0,2fr) minmax(0,2fr)" in page  # the column still shares the row's width


def test_attempts_run_leave_out_skipped_cases(tmp_path: Path) -> None:
    page = render(tmp_path, *repeated("a", ["pass", "pass"]), case("b"), skipped("c"))
    assert '<span class="label">Attempts run</span><span class="value">3</span>' in page
    assert "Latency (3 timed attempts)" in page


def test_counts_take_the_singular_for_one(tmp_path: Path) -> None:
    results = results_file(tmp_path, case("a", retries=1), case("b", "fail"))
    page = render_html(ResultsFile(results.path, results.headers, results.cases, skipped_lines=1))
    assert "latency 100 ms · tokens 10 in / 20 out · cost $0.0010 · 1 retry<" in page
    assert "1 of 1 assertion passed" in page
    assert "Latency (2 timed attempts)" in page and "<title>100 ms to 101 ms: 2 attempts" in page
    assert "1 torn line of the results file skipped" in page
    single = render(tmp_path, case("c", latency_ms=50.0))
    assert "Latency (1 timed attempt)" in single and ": 1 attempt</title>" in single
    assert "llmtest: 1 of 1 case passed" in single


class _Visibility(HTMLParser):
    """Which text of a page a reader sees without a click: text inside a closed
    ``<details>`` is hidden, but for its ``<summary>``. Each case's ``<details>`` is noted
    with its class, whether it is open, and its id cell (text and title)."""

    VOID = frozenset({"meta", "input", "br", "img", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.visible: list[str] = []
        self.hidden: list[str] = []
        self.cases: list[dict[str, str | bool | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "details" and "case" in classes:
            self.cases.append({"class": found.get("class"), "open": "open" in found, "id": ""})
        if tag == "span" and "case-id" in classes and self.cases:
            self.cases[-1]["title"] = found.get("title")
        if tag not in self.VOID:
            self.stack.append((tag, found))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # self-closing SVG shapes: no text, no nesting

    def handle_endtag(self, tag: str) -> None:
        if any(open_tag == tag for open_tag, _ in self.stack):
            while self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        tags = [tag for tag, _ in self.stack]
        if tags and tags[-1] == "span" and "case-id" in (self.stack[-1][1].get("class") or ""):
            self.cases[-1]["id"] = str(self.cases[-1]["id"]) + data
        closed = any(
            tag == "details" and "open" not in attrs and tags[i + 1 : i + 2] != ["summary"]
            for i, (tag, attrs) in enumerate(self.stack)
        )
        (self.hidden if closed else self.visible).append(data)


def test_a_browser_shows_failures_open_skips_as_skips_and_whole_ids(
    tmp_path: Path, chromium: str
) -> None:
    page = tmp_path / "report.html"
    write_html(results_file(tmp_path, *_outcomes()), page)
    dom = dump_dom(chromium, page, tmp_path / "profile")  # one browser launch for all below
    seen = _Visibility()
    seen.feed(dom)
    cases = {str(c["class"]).split()[-1]: c for c in seen.cases}
    assert set(cases) == {"s-pass", "s-fail", "s-error", "s-skip"}
    visible = "\n".join(seen.visible)
    assert REASON in visible, "the failing case's reason must show without a click"
    assert "HTTP 503 after 3 retries" in visible
    assert "Refunds are accepted for 30 days." in "\n".join(seen.hidden)  # a pass: closed
    assert (cases["s-fail"]["open"], cases["s-error"]["open"]) == (True, True)
    assert (cases["s-pass"]["open"], cases["s-skip"]["open"]) == (False, False)
    skip = re.search(r'<details class="case s-skip".*?</details>', dom, re.S)
    assert skip is not None
    assert '<span class="badge b-skip">skip</span>' in skip.group()
    assert "skipped: not supported on this model" in skip.group()
    assert ">Error<" not in skip.group() and "latency" not in skip.group()
    assert cases["s-fail"]["id"] == cases["s-fail"]["title"] == LONG_ID
