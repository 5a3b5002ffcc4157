"""``llmtest report``: reports from a finished run's results file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmtest.commands.main import main
from tests.reports.builders import case, results_file


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return results_file(tmp_path, case("refund-window"), case("order-json", "fail")).path


def test_with_no_output_option_the_markdown_goes_to_stdout(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(results)]) == 0
    assert capsys.readouterr().out.startswith("## ❌ llmtest: 1 of 2 cases passed (1 failed)")


def test_markdown_dash_writes_to_stdout(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(results), "--markdown", "-"]) == 0
    assert "order-json" in capsys.readouterr().out


def test_every_requested_report_is_written(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "report",
            str(results),
            "--junit",
            str(out / "junit.xml"),
            "--markdown",
            str(out / "summary.md"),
            "--html",
            str(out / "report.html"),
            "--json",
            str(out / "summary.json"),
        ]
    )
    assert code == 0
    assert ET.parse(out / "junit.xml").getroot().get("tests") == "2"
    assert (out / "summary.md").read_text(encoding="utf-8").startswith("## ❌")
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["totals"]["cases"] == 2
    assert capsys.readouterr().out == ""


def test_failed_cases_do_not_change_the_exit_code(results: Path, tmp_path: Path) -> None:
    assert main(["report", str(results), "--json", str(tmp_path / "s.json")]) == 0


def test_a_missing_results_file_exits_2_with_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read results file" in capsys.readouterr().err


def test_a_file_that_is_not_a_results_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert main(["report", str(binary)]) == 2
    assert "not a results file" in capsys.readouterr().err


def test_an_empty_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["report", str(empty)]) == 2
    assert "no run header and no case records" in capsys.readouterr().err


def test_an_unwritable_report_path_exits_2(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", str(results), "--html", str(blocker / "report.html")]) == 2
    assert "cannot write report" in capsys.readouterr().err


def test_merge_refuses_a_file_that_ends_in_a_torn_line_and_history_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmtest.commands.main import main as cli

    path = tmp_path / "torn.jsonl"
    assert (
        cli(
            [
                "run",
                "--model",
                "echo:",
                "--progress",
                "none",
                "--no-history",
                "--out",
                str(path),
                *_one_case(tmp_path),
            ]
        )
        == 0
    )
    with path.open("a") as fh:
        fh.write('{"type": "case", "run_id": "x", "sui')
    capsys.readouterr()
    assert cli(["merge", str(path), "--out", str(tmp_path / "m.jsonl")]) == 2
    assert "ends in a torn line (its run did not finish)" in capsys.readouterr().err
    assert cli(["merge", str(path), "--out", str(tmp_path / "m.jsonl"), "--force"]) == 0
    assert cli(["history", "--db", str(tmp_path / "h.sqlite"), "--import", str(path)]) == 0
    assert "ends in a torn line: its run did not finish" in capsys.readouterr().err


def _one_case(folder: Path) -> list[str]:
    suite = folder / "test_one.llm.yaml"
    suite.write_text("cases: [{id: a, prompt: hi, assert: [{contains: hi}]}]\n")
    return [str(suite)]
