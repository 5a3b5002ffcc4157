"""Output drift: similarity of the two sides' answers and JSON format changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compare.helpers import compare
from tests.reports.builders import case


def test_identical_answers_have_similarity_1_and_rewrites_lower(tmp_path: Path) -> None:
    result = compare(
        tmp_path,
        [case("same", output="hello world"), case("diff", output="abcdefghij")],
        [case("same", output="hello world"), case("diff", output="zzzzzzzzzz")],
    )
    drift = result.drift
    assert drift.compared == 2
    assert sorted(drift.similarities) == [0.0, 1.0]
    assert drift.mean == pytest.approx(0.5)
    assert drift.share_below == pytest.approx(0.5)
    assert [d.pair.case_id for d in drift.most_changed] == ["diff"]


def test_json_lost_and_gained_are_listed_fenced_json_counts(tmp_path: Path) -> None:
    result = compare(
        tmp_path,
        [
            case("lost", output='{"a": 1}'),
            case("gained", output="plain"),
            case("number", output="42"),
        ],
        [
            case("lost", output="a: 1"),
            case("gained", output="Here:\n```json\n[1, 2]\n```"),
            case("number", output="42 days"),
        ],
    )
    assert [p.case_id for p in result.drift.lost_json] == ["lost"]
    assert [p.case_id for p in result.drift.gained_json] == ["gained"]
