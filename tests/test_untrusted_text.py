"""Text from outside reaches a terminal inert: control characters escaped, no emoji codes,
no markup; ids with control characters are refused where they are written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmtest._text import escape_controls
from llmtest.cases.loader import load_suite
from llmtest.cases.schema import case_file_schema
from llmtest.config.options import MAX_REPEAT, OPTIONS_BY_NAME
from llmtest.errors import CaseFileError

HOSTILE = "user:x:1000 :thumbs_up: [bold]b[/bold] \x1b[2J\x1b]0;owned\x07 back\x08\x08\r over"

APP = f"""
def answer(prompt):
    return {HOSTILE!r}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text('[tool.llmtest]\nmodel = "callable:app:answer"\n')
    (tmp_path / "test_a.llm.yaml").write_text(
        "cases: [{id: hostile, prompt: hi, assert: [{contains: absent}]}]\n"
    )
    return tmp_path


def test_control_characters_are_escaped_and_nothing_else_changes() -> None:
    assert escape_controls("a\x1b[31mb\tc\nd\x07\u202e") == "a\\x1b[31mb\tc\nd\\x07\\u202e"


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "llmtest", "run", "--progress", "plain", "--no-history"],
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"],
    ],
    ids=["llmtest run", "pytest"],
)
def test_a_hostile_answer_is_shown_literally(project: Path, command: list[str]) -> None:
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed
    assert "\x1b" not in printed and "\x07" not in printed and "\x08" not in printed
    assert "user:x:1000 :thumbs_up: [bold]b[/bold] \\x1b[2J\\x1b]0;owned\\x07" in printed


def test_reports_printed_to_the_terminal_show_a_hostile_answer_literally(project: Path) -> None:
    llmtest = [sys.executable, "-m", "llmtest"]
    run = [*llmtest, "run", "--out", "r.jsonl", "--progress", "none", "--no-history"]
    subprocess.run(run, cwd=project, capture_output=True, timeout=120)
    printed = ""
    for command in (
        [*llmtest, "report", "r.jsonl", "--markdown", "-"],
        [*llmtest, "compare", "r.jsonl", "r.jsonl"],
    ):
        done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        printed += done.stdout + done.stderr
    assert "owned" in printed  # the answer is in the report
    assert "\x1b" not in printed and "\x07" not in printed and "\x08" not in printed


def test_a_case_id_with_a_control_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "test_a.llm.jsonl"
    path.write_text(json.dumps({"id": "bs\b\bPASSED", "prompt": "hi"}) + "\n")
    with pytest.raises(CaseFileError) as caught:
        load_suite(path)
    assert str(caught.value) == (
        f"{path}:1: case 'bs\\x08\\x08PASSED': field 'id': holds a control character; "
        "use printable text"
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0"])
def test_a_timeout_must_be_a_finite_number_above_zero(value: str) -> None:
    with pytest.raises(Exception, match="finite number above 0"):
        OPTIONS_BY_NAME["timeout"].argparse_type(value)


def test_the_command_line_caps_repeat_as_case_files_do(tmp_path: Path) -> None:
    assert case_file_schema()["$defs"]["repeat"]["maximum"] == MAX_REPEAT
    with pytest.raises(Exception, match="at most 1000 attempts per case, got 1000000"):
        OPTIONS_BY_NAME["repeat"].argparse_type("1000000")
    done = subprocess.run(
        [sys.executable, "-m", "llmtest", "run", "--repeat", "1000000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "argument --repeat: expected at most 1000 attempts per case" in done.stderr


def test_case_file_errors_are_shown_escaped(tmp_path: Path) -> None:
    (tmp_path / "test_a.llm.yaml").write_text(
        textwrap.dedent("""
        cases:
          - {id: "a\\eb", prompt: hi}
    """)
    )
    done = subprocess.run(
        [sys.executable, "-m", "llmtest", "run", "--model", "echo:", "--no-history"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "\x1b" not in done.stdout + done.stderr
    assert "control character" in done.stdout + done.stderr
