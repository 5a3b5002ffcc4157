"""The Markdown summary: fit for a pull-request comment, whatever the model said."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmtest.reports.markdown import (
    GITHUB_COMMENT_LIMIT,
    MAX_ASSERTIONS,
    render_markdown,
    write_markdown,
)
from llmtest.results import CaseResult, ResultsFile, load_results
from tests.reports.builders import case, check, repeated, results_file, skipped


def render(tmp_path: Path, *cases: CaseResult) -> str:
    return render_markdown(results_file(tmp_path, *cases))


def test_the_first_line_is_a_check_mark_when_every_case_passed(tmp_path: Path) -> None:
    first = render(tmp_path, case("a"), case("b")).splitlines()[0]
    assert first == "## ✅ llmtest: 2 of 2 cases passed"


def test_the_first_line_is_a_cross_with_counts_when_cases_failed(tmp_path: Path) -> None:
    first = render(tmp_path, case("a"), case("b", "fail"), case("c", "error")).splitlines()[0]
    assert first == "## ❌ llmtest: 1 of 3 cases passed (1 failed, 1 error)"


def _tables(text: str) -> list[list[str]]:
    """Each Markdown table of ``text``: its lines."""
    found: list[list[str]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                found.append([])
            found[-1].append(line)
        previous = line
    return found


def _columns(line: str) -> int:
    return line.count("|") - 1


def test_the_summary_tables_have_counts_latency_tokens_cost_and_retries(
    tmp_path: Path,
) -> None:
    text = render(tmp_path, case("a", latency_ms=200.0, retries=1), case("b", "fail"))
    lines = text.splitlines()
    assert "| 2 | 1 | 1 | 0 | 0 | 50.0% | 195 ms |" in lines
    assert "| 150 ms | 20 / 40 | $0.0020 | 2 | 1 |" in lines
    assert "model support-bot (gpt-4o-mini)" in lines[2]  # the run line names the model


def test_no_table_is_wider_than_seven_columns_so_none_scrolls_in_a_comment(
    tmp_path: Path,
) -> None:
    text = render(tmp_path, case("a", tags=["policy"]), case("b", "fail", tags=["policy"]))
    tables = _tables(text)
    assert len(tables) == 3  # the verdict's figures, what the run spent, the tags
    assert max(_columns(line) for table in tables for line in table) <= 7
    first = tables[0][0]
    for figure in ("Cases", "Passed", "Failed", "Errors", "Skipped", "Pass rate"):
        assert f"| {figure} |" in first
    second = tables[1][0]
    for figure in ("Cost", "Retries", "Tokens (in / out)", "Attempts run"):
        assert f"| {figure} |" in second


def test_pass_rate_by_tag_is_a_table(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", tags=["policy"]), case("b", "fail", tags=["policy"]))
    assert "| policy | 2 | 1 | 1 | 0 | 0 | 50.0% |" in text


def test_each_tag_row_adds_up_skipped_cases_included(tmp_path: Path) -> None:
    text = render(
        tmp_path,
        case("a", tags=["policy"]),
        case("b", "fail", tags=["policy"]),
        case("c", "error", tags=["policy"]),
        skipped("d", tags=["policy"]),
    )
    [tags] = [table for table in _tables(text) if table[0].startswith("| Tag |")]
    assert tags[0] == "| Tag | Cases | Passed | Failed | Errors | Skipped | Pass rate |"
    assert tags[2] == "| policy | 4 | 1 | 1 | 1 | 1 | 33.3% |"
    cases, *parts = (int(cell) for cell in tags[2].split("|")[2:7])
    assert cases == sum(parts)


def test_attempts_run_leave_out_skipped_cases_and_say_what_they_count(
    tmp_path: Path,
) -> None:
    text = render(
        tmp_path,
        *repeated("a", ["pass", "pass", "fail"], min_pass_rate=0.5),
        case("b"),
        skipped("c"),
        skipped("d"),
    )
    assert "| 100 ms | 40 / 80 | $0.0040 | 4 | 0 |" in text.splitlines()
    footer = text.splitlines()[-1]
    assert "6 attempts" not in text
    assert "attempts run: answers asked of the model or of its response cache" in footer
    assert "a skipped case asks none" in footer


def test_counts_take_the_singular_for_one(tmp_path: Path) -> None:
    failing = [check(False, f"expected 'x{i}'") for i in range(MAX_ASSERTIONS + 1)]
    results = results_file(
        tmp_path,
        case("a", attempt=0, repeat=2, assertions=[check(True)]),
        case("a", "fail", attempt=1, repeat=2, assertions=failing[:1]),
        case("b", "fail", assertions=failing),
        case("c", "error"),
    )
    torn = ResultsFile(results.path, results.headers, results.cases, skipped_lines=1)
    text = render_markdown(torn)
    assert text.splitlines()[0] == (
        "## ⚠️ llmtest: 0 of 3 cases passed (2 failed, 1 error); the run did not finish "
        "(its file ends in a torn line)"
    )
    assert "(in 1 attempt)" in text and "1 attempts" not in text
    assert "- … and 1 more failed assertion\n" in text
    assert "1 torn line of the results file skipped" in text


def test_failed_and_errored_cases_are_listed_with_their_messages(tmp_path: Path) -> None:
    text = render(
        tmp_path,
        case("refund", "fail", assertions=[check(False, "expected '30 days' in the output")]),
        case("order", "error", error="timed out after 30 s"),
    )
    assert "**❌ refund**" in text
    assert "- `contains`: expected '30 days' in the output" in text
    assert "**💥 order**" in text
    assert "- error: timed out after 30 s" in text


def test_passing_cases_are_not_listed(tmp_path: Path) -> None:
    text = render(tmp_path, case("quiet-pass"), case("b", "fail"))
    assert "quiet" not in text


def test_html_and_markdown_in_outputs_and_messages_are_escaped(tmp_path: Path) -> None:
    hostile = "<script>x</script> **bold** [link](http://e.x) | `tick`"
    text = render(tmp_path, case("a", "fail", output=hostile, assertions=[check(False, hostile)]))
    assert "<script>" not in text
    assert (
        "&lt;script&gt;x&lt;/script&gt; \\*\\*bold\\*\\* \\[link\\](http://e.x) \\| \\`tick\\`"
        in (text)
    )


def test_hostile_text_renders_as_literal_text_in_a_commonmark_renderer(tmp_path: Path) -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (from rich) is absent")
    hostile = "<img src=x onerror=alert(1)> **bold** [link](http://e.x) ~~s~~ | cell"
    text = render(
        tmp_path,
        case(hostile, "fail", output=hostile, assertions=[check(False, hostile)], tags=[hostile]),
    )
    parser = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    page = parser.render(text)
    for markup in ("<img", "<strong>bold</strong>", "<a href", "<s>s</s>"):
        assert markup not in page
    assert page.count("**bold**") == 4  # the case id, the tag, the message and the output


def test_mentions_in_outputs_notify_nobody(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", "fail", output="ask @octocat"))
    assert "@octocat" not in text
    assert "@\u200boctocat" in text


def test_emoji_codes_in_outputs_stay_text(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", "fail", output="user:x:1000 says :thumbs_up:"))
    assert "user:x:1000" not in text and ":thumbs\\_up:" not in text
    assert "user:\u200bx:1000 says :\u200bthumbs\\_up:" in text


def test_a_torn_results_file_is_not_reported_as_a_clean_pass(tmp_path: Path) -> None:
    from llmtest.reports.format import verdict
    from llmtest.results.summary import summarize

    path = results_file(tmp_path, case("a", "pass")).path
    with path.open("a") as fh:
        fh.write('{"type": "case", "run_id": "r1", "sui')
    line = verdict(summarize(load_results(path)))
    assert line == (
        "⚠️ llmtest: 1 of 1 case passed; the run did not finish (its file ends in a torn line)"
    )


def test_a_long_output_is_truncated_inside_a_details_block(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", "fail", output="line\n" * 1000))
    assert "<details><summary>output (5,000 characters)</summary>" in text
    assert "… (4,000 more characters)" in text


def test_backticks_in_an_output_cannot_close_its_code_block(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", "fail", output="before\n```\n## injected\n" + "x" * 200))
    assert "````text\nbefore\n```\n## injected" in text


def test_many_failures_stay_under_the_comment_limit_and_say_how_many_are_left_out(
    tmp_path: Path,
) -> None:
    failures = [case(f"c{i}", "fail", output=f"{i}\n" + "y" * 2000) for i in range(200)]
    text = render(tmp_path, *failures)
    assert len(text) < GITHUB_COMMENT_LIMIT
    assert "… and " in text and " more\n" in text
    assert text.rstrip().endswith("</sub>")


def test_write_markdown_writes_the_same_text(tmp_path: Path) -> None:
    results = results_file(tmp_path, case("a"))
    write_markdown(results, tmp_path / "summary.md")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == render_markdown(results)


def test_an_assertion_type_is_inline_code_that_its_backticks_cannot_close(tmp_path: Path) -> None:
    failing = case("a", "fail", assertions=[check(False, "no", type="json_`schema`")])
    assert "- `` json_`schema` ``: no" in render(tmp_path, failing)
