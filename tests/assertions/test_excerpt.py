"""Excerpts keep failure messages to one readable line, whatever the model wrote."""

from __future__ import annotations

from llmtest.assertions.excerpt import excerpt, short_repr


def test_short_text_is_quoted_whole() -> None:
    assert excerpt("Items can be returned.") == "'Items can be returned.'"


def test_whitespace_runs_become_single_spaces() -> None:
    assert excerpt("line one\n\n  line two\tend") == "'line one line two end'"


def test_long_text_is_cut_after_the_width_with_a_mark() -> None:
    assert excerpt("abcdefghij" * 3, width=12) == "'abcdefghijab…'"


def test_excerpt_centres_on_a_position() -> None:
    text = "0123456789" * 10
    assert excerpt(text, around=50, width=10) == "'…5678901234…'"


def test_excerpt_centres_on_a_span_measured_in_the_original_text() -> None:
    text = "a\n\n\n\nb" + "-" * 40 + "MATCH" + "-" * 40
    start = text.index("MATCH")
    assert excerpt(text, around=(start, start + 5), width=11) == "'…---MATCH---…'"


def test_excerpt_near_either_end_is_cut_on_one_side_only() -> None:
    text = "0123456789" * 10
    assert excerpt(text, around=2, width=10) == "'0123456789…'"
    assert excerpt(text, around=99, width=10) == "'…0123456789'"


def test_a_match_longer_than_the_width_is_shown_from_its_start() -> None:
    text = "x" * 50 + "y" * 30 + "z" * 50
    assert excerpt(text, around=(50, 80), width=10) == "'…yyyyyyyyyy…'"


def test_short_repr_cuts_strings_inside_their_quotes() -> None:
    assert short_repr("abcdefghij", width=5) == "'abcd…'"
    assert short_repr(["abc", "def"], width=8) == "['abc',…"
    assert short_repr(5) == "5"
