"""The SQLite run history: what it keeps of a run, what it answers, and what it never keeps
(secrets). Results files are written with the real ResultWriter, databases are real files."""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmtest.assertions.base import AssertionResult
from llmtest.errors import LLMTestError
from llmtest.results import CaseResult, ResultWriter, RunHeader, Status
from llmtest.results.history import MIGRATIONS, SCHEMA_VERSION, History

SUITE = "tests/test_support.llm.yaml"
START = datetime(2026, 1, 1, tzinfo=UTC)
_clock = itertools.count()


def case(
    case_id: str,
    status: Status,
    *,
    run_id: str = "r",
    model: str = "bot",
    case_hash: str = "h1",
    suite: str = SUITE,
    attempt: int = 0,
    output: str = "an answer",
    error: str | None = None,
    min_pass_rate: float = 1.0,
) -> CaseResult:
    return CaseResult(
        run_id=run_id,
        suite=suite,
        case_id=case_id,
        case_hash=case_hash,
        model=model,
        attempt=attempt,
        status=status,
        assertions=[AssertionResult("contains", status == "pass", 0.5, "checked")],
        output=output,
        latency_ms=120.0,
        input_tokens=10,
        output_tokens=20,
        cost_usd=0.001,
        tags=["policy"],
        error=error,
        provider_model="gpt-x-2026-01-01",
        min_pass_rate=min_pass_rate,
    )


def write_run(
    folder: Path, run_id: str, cases: Sequence[CaseResult], *, model: str = "bot"
) -> Path:
    """A results file as ``llmtest run`` writes it; runs start a second apart, in call order."""
    path = folder / f"{run_id}.jsonl"
    header = RunHeader(
        run_id=run_id,
        model={"name": model, "adapter": "openai", "model": "gpt-x", "params": {}},
        suites={SUITE: "s1"},
        started_at=(START + timedelta(seconds=next(_clock))).isoformat(),
        git_sha="abc123",
    )
    with ResultWriter(path) as writer:
        writer.write_header(header)
        for result in cases:
            writer.write(result)
    return path


def record_outcomes(
    history: History,
    folder: Path,
    statuses: Sequence[Status],
    *,
    model: str = "bot",
    case_hash: str = "h1",
) -> None:
    """One run per status, oldest first, of a single case ``c1``."""
    for status in statuses:
        run_id = f"{model}-{next(_clock)}"
        path = write_run(
            folder, run_id, [case("c1", status, case_hash=case_hash, model=model)], model=model
        )
        history.import_file(path)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "db" / "history.sqlite")


def test_a_recorded_run_is_listed_with_its_counts_and_pass_rate(
    history: History, tmp_path: Path
) -> None:
    cases = [case("a", "pass"), case("b", "pass"), case("c", "fail"), case("d", "error")]
    history.import_file(write_run(tmp_path, "run-1", cases))
    (run,) = history.recent_runs()
    assert (run.run_id, run.model, run.git_sha) == ("run-1", "bot", "abc123")
    assert (run.cases, run.passed, run.failed, run.errors, run.skipped) == (4, 2, 1, 1, 0)
    assert run.pass_rate == 0.5


def test_the_run_row_keeps_model_config_source_and_provider_model(
    history: History, tmp_path: Path
) -> None:
    path = write_run(tmp_path, "run-1", [case("a", "pass")])
    history.import_file(path)
    with sqlite3.connect(history.path) as conn:
        row = conn.execute(
            "SELECT model_name, adapter, provider_model, model_config, source, finished_at "
            "FROM runs"
        ).fetchone()
    assert row[:3] == ("bot", "openai", "gpt-x-2026-01-01")
    assert '"model": "gpt-x"' in row[3]
    assert row[4] == str(path)
    assert row[5] is not None


def test_recent_runs_are_newest_first_and_limited(history: History, tmp_path: Path) -> None:
    for n in range(3):
        history.import_file(write_run(tmp_path, f"run-{n}", [case("a", "pass")]))
    assert [r.run_id for r in history.recent_runs(limit=2)] == ["run-2", "run-1"]


def test_recording_a_run_again_replaces_it(history: History, tmp_path: Path) -> None:
    path = write_run(tmp_path, "run-1", [case("a", "fail")])
    history.import_file(path)
    with ResultWriter(path) as writer:  # --resume appends to the same file
        writer.write(case("b", "pass"))
    history.import_file(path)
    (run,) = history.recent_runs()
    assert (run.cases, run.passed, run.failed) == (2, 1, 1)
    assert len(history.case_history(SUITE, "a")) == 1


def test_a_merged_file_is_one_run_whatever_its_cases_run_ids(
    history: History, tmp_path: Path
) -> None:
    shards = [case("a", "pass", run_id="shard-1"), case("b", "pass", run_id="shard-2")]
    assert history.import_file(write_run(tmp_path, "merged", shards)) == ["merged"]
    assert [(r.run_id, r.cases) for r in history.recent_runs()] == [("merged", 2)]


def test_repeated_attempts_make_one_verdict_by_the_min_pass_rate(
    history: History, tmp_path: Path
) -> None:
    statuses: list[Status] = ["pass", "pass", "fail"]
    attempts = [
        case("a", status, attempt=n, min_pass_rate=0.6) for n, status in enumerate(statuses)
    ]
    history.import_file(write_run(tmp_path, "run-1", attempts))
    (outcome,) = history.case_history(SUITE, "a")
    assert (outcome.status, outcome.attempts, outcome.attempts_passed) == ("pass", 3, 2)


def test_two_of_three_reach_a_min_pass_rate_of_two_thirds_rounded_as_in_every_report(
    history: History, tmp_path: Path
) -> None:
    statuses: list[Status] = ["pass", "fail", "pass"]
    attempts = [
        case("a", status, attempt=n, min_pass_rate=0.6667) for n, status in enumerate(statuses)
    ]
    history.import_file(write_run(tmp_path, "run-1", attempts))
    assert [o.status for o in history.case_history(SUITE, "a")] == ["pass"]
    assert [(r.passed, r.failed) for r in history.recent_runs()] == [(1, 0)]


def test_the_verdicts_can_be_queried_with_plain_sqlite(history: History, tmp_path: Path) -> None:
    history.import_file(write_run(tmp_path, "run-1", [case("a", "pass"), case("b", "fail")]))
    with sqlite3.connect(history.path) as conn:
        rows = conn.execute("SELECT case_id, status FROM verdicts ORDER BY case_id").fetchall()
    assert rows == [("a", "pass"), ("b", "fail")]


def test_a_database_of_the_first_schema_gets_its_verdicts_when_upgraded(
    history: History, tmp_path: Path
) -> None:
    statuses: list[Status] = ["pass", "pass", "fail"]
    attempts = [
        case("a", status, attempt=n, min_pass_rate=0.6) for n, status in enumerate(statuses)
    ]
    history.import_file(write_run(tmp_path, "run-1", [*attempts, case("b", "error")]))
    with sqlite3.connect(history.path) as conn:  # back to version 1: a view, not a table
        conn.execute("DROP TABLE verdicts")
        for statement in MIGRATIONS[0]:
            if isinstance(statement, str) and "VIEW verdicts" in statement:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
    outcomes = {
        o.case_id: (o.status, o.attempts, o.attempts_passed)
        for o in history.case_history(SUITE, "a") + history.case_history(SUITE, "b")
    }
    assert outcomes == {"a": ("pass", 3, 2), "b": ("error", 1, 0)}
    with sqlite3.connect(history.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_case_history_lists_each_runs_outcome_newest_first(
    history: History, tmp_path: Path
) -> None:
    record_outcomes(history, tmp_path, ["pass", "fail", "error"])
    assert [o.status for o in history.case_history(SUITE, "c1")] == ["error", "fail", "pass"]


def test_case_history_without_a_suite_finds_the_id_in_any_suite(
    history: History, tmp_path: Path
) -> None:
    cases = [case("a", "pass"), case("a", "fail", suite="tests/other.llm.yaml")]
    history.import_file(write_run(tmp_path, "run-1", cases))
    assert len(history.case_history(None, "a")) == 2
    assert [o.status for o in history.case_history("tests/other.llm.yaml", "a")] == ["fail"]


def test_case_history_filters_by_model(history: History, tmp_path: Path) -> None:
    record_outcomes(history, tmp_path, ["pass"], model="old")
    record_outcomes(history, tmp_path, ["fail"], model="new")
    assert [o.model for o in history.case_history(SUITE, "c1", model="new")] == ["new"]


def test_suite_history_gives_the_suites_pass_rate_per_run(history: History, tmp_path: Path) -> None:
    history.import_file(write_run(tmp_path, "run-1", [case("a", "pass"), case("b", "fail")]))
    history.import_file(write_run(tmp_path, "run-2", [case("a", "pass"), case("b", "pass")]))
    assert [(r.run_id, r.pass_rate) for r in history.suite_history(SUITE)] == [
        ("run-2", 1.0),
        ("run-1", 0.5),
    ]


def test_a_case_that_passes_fails_and_passes_with_one_model_is_flaky(
    history: History, tmp_path: Path
) -> None:
    record_outcomes(history, tmp_path, ["pass", "fail", "pass"])
    (flaky,) = history.flaky_cases()
    assert (flaky.case_id, flaky.model, flaky.runs, flaky.flips) == ("c1", "bot", 3, 2)
    assert flaky.pass_rate == pytest.approx(2 / 3)


def test_the_same_sequence_across_different_models_is_not_flaky(
    history: History, tmp_path: Path
) -> None:
    runs: list[tuple[str, Status]] = [("a", "pass"), ("b", "fail"), ("a", "pass"), ("b", "fail")]
    for model, status in runs:
        record_outcomes(history, tmp_path, [status], model=model)
    assert history.flaky_cases(min_runs=2) == []


def test_an_edited_case_starts_a_new_history(history: History, tmp_path: Path) -> None:
    record_outcomes(history, tmp_path, ["pass", "fail"], case_hash="before")
    record_outcomes(history, tmp_path, ["pass", "pass"], case_hash="after")
    assert history.flaky_cases(min_runs=2) == []


def test_a_plain_regression_is_not_flaky(history: History, tmp_path: Path) -> None:
    record_outcomes(history, tmp_path, ["pass", "pass", "fail", "fail"])
    assert history.flaky_cases() == []


def test_errors_neither_count_as_runs_nor_as_flips(history: History, tmp_path: Path) -> None:
    record_outcomes(history, tmp_path, ["pass", "error", "pass", "error", "pass"])
    assert history.flaky_cases() == []


def test_flaky_looks_only_at_each_models_last_window_runs(history: History, tmp_path: Path) -> None:
    record_outcomes(history, tmp_path, ["pass", "fail", "pass", "pass", "pass", "pass"])
    assert history.flaky_cases(window=4) == []
    assert len(history.flaky_cases(window=6)) == 1


def test_flaky_cases_are_sorted_by_flips_and_filtered_by_model(
    history: History, tmp_path: Path
) -> None:
    record_outcomes(history, tmp_path, ["pass", "fail", "pass"], model="a")
    record_outcomes(history, tmp_path, ["pass", "fail", "pass", "fail"], model="b")
    assert [f.model for f in history.flaky_cases()] == ["b", "a"]
    assert [f.model for f in history.flaky_cases(model="a")] == ["a"]


def test_runs_recorded_by_several_processes_at_once_all_land(
    history: History, tmp_path: Path
) -> None:
    paths = [
        write_run(tmp_path, f"run-{n}", [case(f"c{i}", "pass") for i in range(500)])
        for n in range(4)
    ]
    script = (
        "import sys; from llmtest.results.history import History; "
        "History(sys.argv[1]).import_file(sys.argv[2])"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(history.path), str(path)])
        for path in paths
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    assert sorted((r.run_id, r.cases) for r in history.recent_runs()) == [
        (f"run-{n}", 500) for n in range(4)
    ]


def test_secrets_reach_no_row_and_no_byte_of_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-SECRET-123"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    leaky = case("a", "error", output=f"my key is {secret}", error=f"401 for key {secret}")
    header = RunHeader(
        run_id="run-1",
        model={"name": "bot", "base_url": f"https://x.test/?key={secret}"},
        suites={SUITE: "s1"},
        started_at="2026-01-01T00:00:00+00:00",
    )
    history = History(tmp_path / "db" / "history.sqlite")
    history.record_run(header, [dataclasses.replace(leaky, tags=[secret])])
    with sqlite3.connect(history.path) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [row for table in tables for row in conn.execute(f"SELECT * FROM {table}")]
    assert rows
    assert not [row for row in rows if secret in repr(row)]
    assert "***" in repr(rows)
    for path in history.path.parent.iterdir():
        assert secret.encode() not in path.read_bytes(), path


def test_queries_on_a_missing_database_return_nothing_and_create_nothing(
    history: History,
) -> None:
    assert history.recent_runs() == []
    assert history.flaky_cases() == []
    assert not history.path.parent.exists()


def test_a_database_from_a_newer_llmtest_is_refused_with_a_sentence(
    history: History, tmp_path: Path
) -> None:
    history.import_file(write_run(tmp_path, "run-1", [case("a", "pass")]))
    with sqlite3.connect(history.path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LLMTestError, match="newer than this llmtest understands"):
        history.recent_runs()


def test_a_file_that_is_not_a_database_is_an_llmtest_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_text("not sqlite at all " * 100)
    with pytest.raises(LLMTestError, match=str(path)):
        History(path).recent_runs()
