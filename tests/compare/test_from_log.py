"""``llmtest compare --from-log``: a canary log written by the real router, turned into the
same comparison, report and gate verdict as two results files."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

import llmtest.commands.main
from llmtest.cases.loader import load_suite
from llmtest.compare.from_log import log_to_results
from llmtest.production.router import CanaryRouter

SUITE = """
cases:
  - id: capital
    prompt: "What is the capital of France?"
    tags: [critical]
    assert:
      - contains: ["Paris"]
  - id: author
    prompt: "Who wrote Hamlet?"
    assert:
      - contains: ["Shakespeare"]
"""

APP = """
ANSWERS = {
    "What is the capital of France?": "Paris, of course.",
    "Who wrote Hamlet?": "William Shakespeare.",
}

def baseline(prompt: str) -> str:
    return ANSWERS.get(prompt, "I do not know.")

def candidate(prompt: str) -> str:
    if "France" in prompt:
        return "Lyon, I think."   # the planted regression
    return ANSWERS.get(prompt, "No idea.")
"""


def write_log(tmp_path: Path, *, shadow: bool, fraction: float = 1.0) -> Path:
    """Real traffic through the router: the suite's questions (twice), and one that no case
    knows, from several users."""
    module = f"from_log_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.llmtest.models.prod]
            adapter = "callable"
            model = "{module}:baseline"

            [tool.llmtest.models.next]
            adapter = "callable"
            model = "{module}:candidate"
            """
        )
    )
    log = tmp_path / "canary.jsonl"
    with CanaryRouter(
        "prod", "next", fraction=fraction, shadow=shadow, log=log, project_root=tmp_path
    ) as router:
        for user in ("u1", "u2", "u3", "u4"):
            for prompt in ("What is the capital of France?", "Who wrote Hamlet?"):
                router.complete_sync(prompt, metadata={"user": user})
        router.complete_sync("What's the weather?", metadata={"user": "u1"})
    return log


def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "test_canary.llm.yaml"
    path.write_text(SUITE)
    return path


def test_with_a_suite_the_planted_regression_is_named_and_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, shadow=True)
    report = tmp_path / "compare.json"
    code = llmtest.commands.main.main(
        ["compare", "--from-log", str(log), "--suite", str(suite_file(tmp_path)),
         "--json", str(report)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "BLOCKED" in captured.out
    assert "regression:" in captured.out and "::capital" in captured.out
    assert "::author" not in captured.out.split("regression:")[1].splitlines()[0]
    assert "1 paired exchange matches no case" in captured.err
    assert "What's the weather?" in captured.err
    data = json.loads(report.read_text())
    assert [r["case_id"] for r in data["regressions"]] == ["capital"]


def test_the_conversion_makes_repeated_requests_attempts_of_one_case(tmp_path: Path) -> None:
    log = write_log(tmp_path, shadow=True)
    converted = log_to_results(log, load_suite(suite_file(tmp_path)))
    assert converted.exchanges == 9 and converted.paired == 8
    assert converted.unmatched == ["What's the weather?"]
    base = {(c.case_id, c.attempt, c.status) for c in converted.baseline.cases}
    cand = {(c.case_id, c.attempt, c.status) for c in converted.candidate.cases}
    assert base == {(cid, i, "pass") for cid in ("capital", "author") for i in range(4)}
    assert ("capital", 0, "fail") in cand and ("author", 3, "pass") in cand
    assert converted.baseline.header and converted.baseline.header.model_name == "prod"
    assert converted.candidate.header and converted.candidate.header.model_name == "next"


def test_without_a_suite_sides_pass_unless_they_errored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, shadow=True)
    code = llmtest.commands.main.main(["compare", "--from-log", str(log), "--markdown", "-"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PROMOTE" in out
    converted = log_to_results(log)
    assert converted.paired == 9
    assert all(c.status == "pass" for c in converted.candidate.cases)
    assert {c.case_id for c in converted.candidate.cases} == {
        c.case_id for c in converted.baseline.cases
    }


def test_a_log_without_shadow_pairs_explains_and_cannot_decide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, shadow=False, fraction=0.5)
    code = llmtest.commands.main.main(
        ["compare", "--from-log", str(log), "--suite", str(suite_file(tmp_path))]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "none of its 9 exchanges was answered by both models" in err
    assert "shadow=True" in err
    assert "baseline alone:" in err and "candidate alone:" in err


def test_from_log_and_results_files_are_exclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, shadow=True)
    assert (
        llmtest.commands.main.main(["compare", "a.jsonl", "b.jsonl", "--from-log", str(log)]) == 2
    )
    assert "one or the other" in capsys.readouterr().err
    assert llmtest.commands.main.main(["compare"]) == 2
    assert "--from-log LOG" in capsys.readouterr().err
    assert llmtest.commands.main.main(["compare", "a", "b", "--suite", "s.yaml"]) == 2
    assert "--from-log only" in capsys.readouterr().err


def test_a_file_that_is_not_a_canary_log_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "log.jsonl"
    bad.write_text('{"type": "exchange", "messages": []}\nnot json\n{"x": 1}\n')
    assert llmtest.commands.main.main(["compare", "--from-log", str(bad)]) == 2
    assert f"{bad}:2: not a JSON record" in capsys.readouterr().err
