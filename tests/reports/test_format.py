"""How the reports show a run and its figures."""

from __future__ import annotations

from pathlib import Path

from llmtest._text import plural
from llmtest.reports.format import format_ms, format_rate, truncate, verdict
from llmtest.results.summary import summarize
from tests.reports.builders import case, results_file


def test_the_verdict_counts_the_cases_that_ran(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, case("a"), case("b", "fail"), case("c", "error")))
    assert verdict(summary) == "❌ llmtest: 1 of 3 cases passed (1 failed, 1 error)"


def test_a_run_where_nothing_ran_is_not_a_pass(tmp_path: Path) -> None:
    summary = summarize(results_file(tmp_path, case("a", "skip")))
    assert not summary.ok
    assert verdict(summary).startswith("⚠️ llmtest: no cases ran")


def test_a_count_is_written_with_its_noun_singular_or_plural() -> None:
    assert (plural(1, "case"), plural(2, "case"), plural(2, "fix", "fixes")) == (
        "1 case",
        "2 cases",
        "2 fixes",
    )


def test_an_unknown_figure_is_a_dash_not_zero() -> None:
    assert (format_rate(None), format_ms(None)) == ("\N{EN DASH}", "\N{EN DASH}")


def test_the_verdict_takes_the_singular_for_one_case(tmp_path: Path) -> None:
    one = summarize(results_file(tmp_path, case("a")))
    assert verdict(one) == "✅ llmtest: 1 of 1 case passed"
    none_ran = summarize(results_file(tmp_path, case("b", "skip"), name="skip.jsonl"))
    assert verdict(none_ran) == "⚠️ llmtest: no cases ran (1 case, 1 skipped)"


def test_a_cut_text_says_how_many_characters_are_left_out_in_the_singular_too() -> None:
    assert truncate("abcd", 3) == "abc… (1 more character)"
    assert truncate("x" * 1203, 3).endswith("… (1,200 more characters)")
