"""Confirming regressions: which attempts are run, when re-running stops, and how the
evidence in the results files (or the history) decides each regression's state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from llmtest.commands.main import main
from llmtest.compare import GatePolicy, compare_results, evaluate_gate
from llmtest.compare.confirmation import (
    Runner,
    Side,
    attempts_needed,
    confirm_regressions,
    confirmation_levels,
)
from llmtest.compare.pairing import CasePair
from llmtest.results import CaseResult, RunHeader, Status, load_results
from llmtest.results.history import History
from llmtest.results.jsonl import ResultWriter
from tests.compare.helpers import compare, pair_files
from tests.reports.builders import RUN_ID, SUITE, case, repeated


def test_the_attempts_are_the_fewest_that_let_a_perfect_split_reach_the_level() -> None:
    assert attempts_needed(0.05, 4) == 4  # 4 + 4 fresh attempts: p = 1/70
    assert attempts_needed(0.05 / 38, 4) == 6  # 1/924 < 0.0013 < 1/252
    assert attempts_needed(0.001, 4) == 7
    assert attempts_needed(1e-30, 4) == 20  # never more than the cap


def test_regressions_in_a_blocking_tag_share_the_level_among_themselves(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("a", tags=["critical"]), case("b"), case("c"), case("d")],
        [case("a", "fail", tags=["critical"]), case("b", "fail"), case("c", "fail"), case("d")],
    )
    levels = confirmation_levels(comparison.regressions, 0.05, ["critical"])
    assert {key[1]: level for key, level in levels.items()} == pytest.approx(
        {"a": 0.05, "b": 0.05 / 3, "c": 0.05 / 3}
    )


def scripted(
    outcomes: dict[str, dict[Side, list[Status]]],
) -> tuple[list[tuple[str, Side, int]], Runner]:
    """A runner answering each case's n-th attempt on a side from a script."""
    asked: list[tuple[str, Side, int]] = []

    def run(requests: Sequence[tuple[CasePair, Side, int]]) -> list[CaseResult]:
        results = []
        for pair, side, attempt in requests:
            asked.append((pair.case_id, side, attempt))
            done = sum(1 for c, s, _ in asked if c == pair.case_id and s == side) - 1
            results.append(case(pair.case_id, outcomes[pair.case_id][side][done], attempt=attempt))
        return results

    return asked, run


def statuses(passed: int, failed: int = 0) -> list[Status]:
    passes: list[Status] = ["pass"] * passed
    fails: list[Status] = ["fail"] * failed
    return passes + fails


def test_rerunning_stops_as_soon_as_confirmation_is_out_of_reach(tmp_path: Path) -> None:
    comparison = compare(
        tmp_path,
        [case("broken"), case("noise"), case("late")],
        [case("broken", "fail"), case("noise", "fail"), case("late", "fail")],
    )
    asked, run = scripted(
        {
            "broken": {"candidate": statuses(0, 4), "baseline": statuses(4)},
            "noise": {"candidate": ["pass"], "baseline": []},
            "late": {"candidate": ["fail", "fail"], "baseline": ["pass", "fail"]},
        }
    )
    levels = confirmation_levels(comparison.regressions, 0.05, [])
    calls = confirm_regressions(comparison.regressions, levels, 4, run)
    assert calls == len(asked) == 8 + 1 + 4
    # Fresh attempts are numbered after the case's own (attempt 0), candidate first.
    assert asked[:3] == [
        ("broken", "candidate", 1),
        ("noise", "candidate", 1),
        ("late", "candidate", 1),
    ]
    assert [a for a in asked if a[0] == "late"] == [
        ("late", "candidate", 1),
        ("late", "baseline", 1),
        ("late", "candidate", 2),
        ("late", "baseline", 2),  # the baseline failed once: 4/4 vs 0/4 is out of reach
    ]


def test_an_errored_confirmation_attempt_is_spent_and_rerunning_still_ends(
    tmp_path: Path,
) -> None:
    comparison = compare(tmp_path, [case("a")], [case("a", "fail")])
    _, run = scripted({"a": {"candidate": ["error"] * 4, "baseline": ["error"] * 4}})
    levels = confirmation_levels(comparison.regressions, 0.05, [])
    assert confirm_regressions(comparison.regressions, levels, 4, run) == 2


def with_confirmations(
    tmp_path: Path,
    baseline: list[CaseResult],
    candidate: list[CaseResult],
    extra: dict[str, list[CaseResult]],
) -> tuple[Path, Path]:
    """Results files as a canary leaves them: case records, then confirmation records."""
    base, cand = pair_files(tmp_path, baseline, candidate)
    for side, path in (("baseline", base.path), ("candidate", cand.path)):
        model = "support-bot" if side == "baseline" else "candidate-bot"
        with ResultWriter(path) as writer:
            for result in extra.get(side, []):
                writer.write_confirmation(CaseResult(**{**vars(result), "model": model}))
    return base.path, cand.path


def test_confirmation_records_decide_a_regression_and_nothing_else_reads_them(
    tmp_path: Path,
) -> None:
    fresh = [case("a", "pass", attempt=i) for i in range(1, 5)]
    failing = [case("a", "fail", attempt=i) for i in range(1, 5)]
    base, cand = with_confirmations(
        tmp_path,
        [case("a"), case("b")],
        [case("a", "fail"), case("b")],
        {"baseline": fresh, "candidate": failing},
    )
    results = load_results(cand)
    assert len(results.cases) == 2 and len(results.confirmations) == 4
    comparison = compare_results(load_results(base), results)
    assert comparison.candidate.overall.counts.failed == 1  # the verdict is the run's own
    assert comparison.confirmation_calls == 8
    gate = evaluate_gate(comparison, GatePolicy.default())
    (found,) = gate.confirmations
    assert found.state == "confirmed" and found.source == "re-run"
    assert found.describe() == "re-run: baseline 4/4, candidate 0/4 passed, p = 0.0143 < 0.05"
    assert gate.verdict.value == "blocked"
    history = History(tmp_path / "history.sqlite")
    history.import_file(cand)
    (run,) = history.recent_runs()
    assert run.cases == 2  # the confirmation attempts are not runs of the case


def test_a_repeated_case_is_judged_on_its_recorded_attempts_when_no_model_can_run(
    tmp_path: Path,
) -> None:
    comparison = compare(
        tmp_path,
        repeated("always", statuses(5)) + repeated("wobbly", statuses(5)),
        repeated("always", statuses(0, 5)) + repeated("wobbly", statuses(4, 1)),
    )
    gate = evaluate_gate(comparison, GatePolicy.default())
    states = {c.pair.case_id: (c.state, c.source) for c in gate.confirmations}
    assert states == {
        "always": ("confirmed", "recorded attempts"),  # 5/5 vs 0/5: p = 1/252 < 0.025
        "wobbly": ("not confirmed", "recorded attempts"),
    }


def flaky_history(path: Path, case_id: str, ways: list[Status]) -> None:
    """Runs of the baseline model in which ``case_id`` went each of these ways."""
    history = History(path)
    for index, status in enumerate(ways):
        run_id = f"{RUN_ID}-{index}"
        header = RunHeader(
            run_id,
            {"name": "support-bot"},
            {SUITE: "abc123"},
            started_at=f"2025-01-0{index + 1}T12:00:00+00:00",
        )
        history.record_run(header, [case(case_id, status, run_id=run_id)])


def test_the_history_turns_a_critical_flip_that_cannot_be_confirmed_into_noise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    base, cand = pair_files(
        tmp_path, [case("refund", tags=["critical"])], [case("refund", "fail", tags=["critical"])]
    )
    args = ["compare", str(base.path), str(cand.path), "--json", "cmp.json"]
    assert main(args) == 1  # no history: a single flip in a blocking tag is all there is
    capsys.readouterr()
    flaky_history(tmp_path / ".llmtest/history.sqlite", "refund", statuses(1, 1) * 2)
    assert main(args) == 0
    (found,) = json.loads((tmp_path / "cmp.json").read_text())["gate"]["confirmations"]
    assert found["state"] == "not confirmable"
    assert found["known_flaky"]["flips"] == 3
    out = capsys.readouterr().out
    assert "flaky with the baseline model in the history (2 of 4 runs passed, 3 flips)" in out
    assert main([*args, "--no-history"]) == 1
