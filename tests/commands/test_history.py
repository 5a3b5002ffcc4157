"""``llmtest history``: the tables a developer or a CI log reads, and ``--json`` for scripts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmtest.assertions.base import AssertionResult
from llmtest.commands.history import format_table
from llmtest.commands.main import main
from llmtest.results import CaseResult, ResultWriter, RunHeader, Status

SUITE = "tests/test_support.llm.yaml"
START = datetime(2026, 1, 1, tzinfo=UTC)
_clock = itertools.count()


def write_run(
    folder: Path, run_id: str, statuses: dict[str, Status], *, model: str = "bot"
) -> Path:
    """A results file as ``llmtest run`` writes it, one case per entry of ``statuses``."""
    path = folder / f"{run_id}.jsonl"
    with ResultWriter(path) as writer:
        writer.write_header(
            RunHeader(
                run_id=run_id,
                model={"name": model, "adapter": "openai", "model": "gpt-x"},
                suites={SUITE: "s1"},
                started_at=(START + timedelta(seconds=next(_clock))).isoformat(),
            )
        )
        for case_id, status in statuses.items():
            writer.write(
                CaseResult(
                    run_id=run_id,
                    suite=SUITE,
                    case_id=case_id,
                    case_hash="h1",
                    model=model,
                    attempt=0,
                    status=status,
                    assertions=[AssertionResult("contains", status == "pass", None, "")],
                    output="an answer",
                    latency_ms=250.0,
                    input_tokens=1,
                    output_tokens=2,
                    cost_usd=None,
                    tags=[],
                    error="not yet" if status == "skip" else None,
                )
            )
    return path


def history(*args: str) -> int:
    return main(["history", "--db", "db/history.sqlite", *args])


def import_runs(folder: Path, runs: Sequence[dict[str, Status]], *, model: str = "bot") -> None:
    for statuses in runs:
        path = write_run(folder, f"{model}-{next(_clock)}", statuses, model=model)
        assert history("--import", str(path)) == 0


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_missing_database_says_no_runs_recorded_yet_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert history() == 0
    assert capsys.readouterr().out == "no runs recorded yet (db/history.sqlite)\n"
    assert not Path("db").exists()


def test_import_says_which_run_it_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_run(tmp_path, "run-1", {"a": "pass"})
    assert history("--import", str(path)) == 0
    assert capsys.readouterr().out == f"recorded run run-1 from {path} in db/history.sqlite\n"


def test_importing_a_missing_file_exits_2_with_a_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert history("--import", "nope.jsonl") == 2
    assert "cannot read results file nope.jsonl" in capsys.readouterr().err


def test_no_option_lists_recent_runs_with_counts_and_pass_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass", "b": "fail", "c": "error", "d": "pass"}])
    capsys.readouterr()
    assert history() == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "run", "started", "model", "cases", "pass", "fail", "error", "skip", "pass", "rate",
    ]  # fmt: skip
    run_id, date, _time, *counts = row.split()
    assert run_id.startswith("bot-")
    assert date == "2026-01-01"
    assert counts == ["bot", "4", "2", "1", "1", "0", "50.0%"]


def test_limit_caps_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_runs(tmp_path, [{"a": "pass"}] * 3)
    capsys.readouterr()
    assert history("--limit", "2") == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_case_accepts_a_pytest_style_suite_and_case_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass"}, {"a": "fail"}])
    capsys.readouterr()
    assert history("--case", f"{SUITE}::a") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[6] for line in lines[1:]] == ["fail", "pass"]


def test_a_skipped_case_shows_its_reason_not_a_pass_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "skip"}])
    capsys.readouterr()
    assert history("--case", "a") == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert "skipped: not yet" in row and "0/1" not in row


def test_case_accepts_a_bare_case_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_runs(tmp_path, [{"a": "pass"}])
    capsys.readouterr()
    assert history("--case", "a") == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_an_unknown_case_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_runs(tmp_path, [{"a": "pass"}])
    capsys.readouterr()
    assert history("--case", "zzz") == 0
    assert capsys.readouterr().out == "no records of case zzz in db/history.sqlite\n"


def test_suite_shows_the_pass_rate_of_each_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass", "b": "fail"}, {"a": "pass", "b": "pass"}])
    capsys.readouterr()
    assert history("--suite", SUITE) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines[1:]] == ["100.0%", "50.0%"]


def test_flaky_lists_cases_that_went_both_ways_for_the_given_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass"}, {"a": "fail"}, {"a": "pass"}], model="m1")
    import_runs(tmp_path, [{"a": "fail"}, {"a": "pass"}, {"a": "fail"}], model="m2")
    capsys.readouterr()
    assert history("--flaky", "--model", "m1") == 0
    _header, row = capsys.readouterr().out.splitlines()
    assert row.split() == [SUITE, "a", "h1", "m1", "3", "2", "66.7%", "pass"]


def test_flaky_with_none_found_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_runs(tmp_path, [{"a": "pass"}] * 3)
    capsys.readouterr()
    assert history("--flaky") == 0
    assert capsys.readouterr().out == (
        "no flaky cases in db/history.sqlite (flaky needs 3 runs and 2 changes between pass "
        "and fail, within each model's last 10 runs (--min-runs, --min-flips, --window))\n"
    )


def test_a_case_that_flipped_too_few_times_is_shown_with_the_rule_it_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass", "b": "pass"}, {"a": "fail", "b": "pass"}])
    capsys.readouterr()
    assert history("--flaky") == 0
    assert capsys.readouterr().out == (
        "no flaky cases in db/history.sqlite yet: 1 case flipped: it has 2 runs and 1 change "
        "(flaky needs 3 runs and 2 changes between pass and fail, within each model's last "
        "10 runs (--min-runs, --min-flips, --window)); run again to see whether it keeps "
        "flipping\n"
    )
    assert history("--flaky", "--min-runs", "2", "--min-flips", "1") == 0
    assert capsys.readouterr().out.splitlines()[1].split()[1] == "a"


def test_json_prints_the_rows_for_scripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(tmp_path, [{"a": "pass", "b": "fail"}])
    capsys.readouterr()
    assert history("--json") == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert (run["model"], run["cases"], run["pass_rate"]) == ("bot", 2, 0.5)


def test_tables_right_align_numbers_and_left_align_text() -> None:
    table = format_table(("name", "runs"), [("a", 5), ("long-name", 12)], right=("runs",))
    assert table.splitlines() == ["name       runs", "a             5", "long-name    12"]
