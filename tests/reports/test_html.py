"""The HTML report: one self-contained page where nothing from the results file can run."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from markupsafe import escape

from llmtest.reports.format import MISSING
from llmtest.reports.html import CSP, render_html, write_html
from llmtest.results import CaseResult, ResultsFile, ResultWriter, RunHeader, load_results
from tests.reports.builders import RUN_ID, case, check, repeated, results_file
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
