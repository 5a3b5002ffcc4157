"""Reading a results file back: every line checked and typed once, at the edge. A bad line
is one sentence naming the file, the line and the field, in every command that reads
results files; files an older llmtest wrote still load; what this version does not know
is written back as it was read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmtest.commands.main import main
from llmtest.errors import LLMTestError
from llmtest.results import load_results
from llmtest.results.jsonl import write_results
from tests.reports.builders import RUN_ID, SUITE, case, results_file


def with_line(folder: Path, line: str) -> Path:
    """A results file whose second line is ``line``, with a good record after it."""
    path = results_file(folder, case("a"), case("b")).path
    header, _replaced, last = path.read_text(encoding="utf-8").splitlines()
    path.write_text(f"{header}\n{line}\n{last}\n", encoding="utf-8")
    return path


def case_line(**fields: Any) -> str:
    """A case record as ``llmtest run`` writes it, with ``fields`` written over its own."""
    return json.dumps(case("a").to_record() | fields)


def load_error(path: Path) -> str:
    with pytest.raises(LLMTestError) as caught:
        load_results(path)
    return str(caught.value)


def test_the_records_are_typed_as_they_are_read(tmp_path: Path) -> None:
    results = results_file(tmp_path, case("a", attempt=2, latency_ms=120.5))
    assert results.header is not None and results.header.run_id == RUN_ID
    (record,) = results.cases
    assert (record.case_id, record.attempt, record.latency_ms) == ("a", 2, 120.5)
    assert results.finished_keys() == {(SUITE, "a", "hash-a", 2)}


def test_a_field_of_the_wrong_type_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = with_line(tmp_path, case_line(attempt="x"))
    assert load_error(path) == f"{path}:2: field 'attempt': expected a whole number, got 'x'"


def test_an_unknown_status_is_an_error_not_a_pass(tmp_path: Path) -> None:
    path = with_line(tmp_path, case_line(status="passed"))
    assert f"{path}:2: field 'status': expected one of error, fail, pass, skip" in load_error(path)


def test_a_line_nested_too_deeply_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = with_line(tmp_path, "[" * 10_000 + "]" * 10_000)
    assert load_error(path) == f"{path}:2: nested too deeply to be a record"


def test_a_field_nested_too_deeply_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = with_line(tmp_path, case_line()[:-1] + ', "x": ' + "[" * 10_000 + "]" * 10_000 + "}")
    assert load_error(path) == f"{path}:2: nested too deeply to be a record"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_number_json_does_not_have_names_its_field(tmp_path: Path, constant: str) -> None:
    path = with_line(
        tmp_path, case_line(latency_ms=0).replace('"latency_ms": 0', f'"latency_ms": {constant}')
    )
    assert load_error(path) == (
        f"{path}:2: field 'latency_ms': expected a finite number, got {constant}"
    )


def test_a_nan_deep_in_a_record_names_the_path_to_it(tmp_path: Path) -> None:
    line = case_line(usage={"input_tokens": 0}).replace('"input_tokens": 0', '"input_tokens": NaN')
    path = with_line(tmp_path, line)
    assert "field 'usage.input_tokens': expected a finite number, got NaN" in load_error(path)


def test_a_number_too_large_for_a_float_is_not_a_latency(tmp_path: Path) -> None:
    path = with_line(
        tmp_path, case_line(latency_ms=0).replace('"latency_ms": 0', '"latency_ms": 1e999')
    )
    assert load_error(path) == f"{path}:2: field 'latency_ms': expected a finite number, got inf"


def test_a_file_an_older_llmtest_wrote_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    header = {"type": "run", "run_id": "old", "model": {"name": "bot"}, "suites": {SUITE: "s"}}
    record = {"type": "case", "suite": SUITE, "case_id": "a", "status": "pass"}
    path.write_text(f"{json.dumps(header)}\n{json.dumps(record)}\n", encoding="utf-8")
    results = load_results(path)
    (loaded,) = results.cases
    assert (loaded.attempt, loaded.repeat, loaded.min_pass_rate, loaded.retries) == (0, 1, 1.0, 0)
    assert (loaded.latency_ms, loaded.input_tokens, loaded.tags) == (None, None, ())
    assert results.header is not None and results.header.git_sha is None


def test_lines_of_another_type_are_passed_over(tmp_path: Path) -> None:
    path = with_line(tmp_path, json.dumps({"type": "note", "text": "hello"}))
    assert [c.case_id for c in load_results(path).cases] == ["b"]


def test_written_back_a_file_is_as_it_was_read_unknown_fields_included(tmp_path: Path) -> None:
    path = results_file(tmp_path, case("a"), case("b", "fail")).path
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[0]["ci"] = {"job": 7}
    lines[1]["judge"] = {"model": "grader", "verdict": "ok"}
    original = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    path.write_text(original, encoding="utf-8")
    results = load_results(path)
    assert results.header is not None
    copy = tmp_path / "copy.jsonl"
    write_results(copy, results.header, results.cases)
    assert copy.read_text(encoding="utf-8") == original


@pytest.mark.parametrize(
    "command",
    [
        ["report", "{bad}"],
        ["merge", "{bad}", "{good}", "--out", "{out}"],
        ["history", "--db", "{out}", "--import", "{bad}"],
        ["compare", "{good}", "{bad}"],
    ],
    ids=["report", "merge", "history", "compare"],
)
def test_every_command_that_reads_results_says_which_line_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    bad = with_line(tmp_path / "bad", case_line(latency_ms="fast"))
    good = results_file(tmp_path / "good", case("a")).path
    out = tmp_path / "out" / "file"
    places = {"bad": bad, "good": good, "out": out}
    assert main([word.format(**places) for word in command]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"llmtest {command[0]}: {bad}:2: field 'latency_ms': expected a finite number, got 'fast'"
    ]
    assert not out.exists()


def test_a_file_that_never_ends_is_not_read(tmp_path: Path) -> None:
    """A device or a pipe given as a results file would be read for ever."""
    with pytest.raises(LLMTestError, match="/dev/zero is not a results file: not a regular file"):
        load_results("/dev/zero")
