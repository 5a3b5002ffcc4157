"""The Markdown summary: fit for a pull-request comment, whatever the model said."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmtest.reports.markdown import GITHUB_COMMENT_LIMIT, render_markdown, write_markdown
from llmtest.results import CaseResult
from tests.reports.builders import case, check, results_file


def render(tmp_path: Path, *cases: CaseResult) -> str:
    return render_markdown(results_file(tmp_path, *cases))


def test_the_first_line_is_a_check_mark_when_every_case_passed(tmp_path: Path) -> None:
    first = render(tmp_path, case("a"), case("b")).splitlines()[0]
    assert first == "## ✅ llmtest: 2 of 2 cases passed"


def test_the_first_line_is_a_cross_with_counts_when_cases_failed(tmp_path: Path) -> None:
    first = render(tmp_path, case("a"), case("b", "fail"), case("c", "error")).splitlines()[0]
    assert first == "## ❌ llmtest: 1 of 3 cases passed (1 failed, 1 error)"


def test_the_summary_table_has_counts_latency_tokens_cost_retries_and_model(
    tmp_path: Path,
) -> None:
    text = render(tmp_path, case("a", latency_ms=200.0, retries=1), case("b", "fail"))
    row = (
        "| 2 | 1 | 1 | 0 | 0 | 50.0% | 150 ms | 195 ms | 20 / 40 | $0.0020 | 1 "
        "| support-bot (gpt-4o-mini) |"
    )
    assert row in text.splitlines()


def test_pass_rate_by_tag_is_a_table(tmp_path: Path) -> None:
    text = render(tmp_path, case("a", tags=["policy"]), case("b", "fail", tags=["policy"]))
    assert "| policy | 2 | 1 | 1 | 0 | 50.0% |" in text


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
