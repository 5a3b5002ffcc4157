"""A replayed run is the recorded run: ``--record`` then ``--model replay:`` give the same
status and output for every attempt, with a model whose answers change from call to call.

The model is the project's own function (``callable:``) answering from a counter, so a
``repeat: 6`` case passes exactly 3 of 6 attempts; which attempts pass is up to the
scheduling, and the replay must reproduce it attempt by attempt.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmtest.commands.main import main
from llmtest.results import load_results

APP = "sampled_app"

APP_SOURCE = textwrap.dedent(
    """
    import collections, threading

    _lock = threading.Lock()
    _calls = collections.Counter()

    def answer(prompt):
        # Per prompt: heads, tails, heads, ... in the order calls arrive.
        with _lock:
            number = _calls[prompt]
            _calls[prompt] += 1
        return f"{'heads' if number % 2 == 0 else 'tails'} #{number}"
    """
)

SUITE = textwrap.dedent(
    """
    cases:
      - id: coin
        prompt: "Heads or tails?"
        repeat: 6
        min_pass_rate: 0.5
        assert: [{contains: heads}]
      - id: twin-a
        prompt: "Flip it"
        repeat: 2
        assert: [{contains: heads}]
      - id: twin-b
        prompt: "Flip it"
        repeat: 3
        assert: [{contains: heads}]
    """
)

Attempts = dict[tuple[str, int], tuple[str, str | None]]


def write_project(folder: Path) -> None:
    (folder / "pyproject.toml").write_text("[tool.llmtest]\n", encoding="utf-8")
    (folder / f"{APP}.py").write_text(APP_SOURCE, encoding="utf-8")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_coin.llm.yaml").write_text(SUITE, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    write_project(tmp_path)
    yield tmp_path
    sys.modules.pop(APP, None)


def attempts(path: Path) -> Attempts:
    """(case id, attempt) → (status, output) of every record in a results file."""
    return {(c.case_id, c.attempt): (c.status, c.output) for c in load_results(path).cases}


def passed(results: Attempts, case_id: str) -> int:
    return sum(status == "pass" for (case, _), (status, _) in results.items() if case == case_id)


def forget_the_model(folder: Path) -> None:
    """The replay must not be able to reach the model."""
    (folder / f"{APP}.py").unlink()
    sys.modules.pop(APP, None)


@pytest.mark.parametrize(("recording", "replaying"), [("16", "1"), ("1", "16"), ("3", "3")])
def test_llmtest_run_replays_every_attempt_as_recorded(
    project: Path, recording: str, replaying: str
) -> None:
    """At any concurrency, recorded and replayed: the scheduling differs, the run does not."""
    common = ["run", "--progress", "none", "--no-history", "tests", "--concurrency"]
    model = f"callable:{APP}:answer"
    recorded_exit = main(
        [*common, recording, "--model", model, "--record", "cassettes", "--out", "recorded.jsonl"]
    )
    forget_the_model(project)
    replayed_exit = main(
        [*common, replaying, "--model", "replay:cassettes", "--out", "replayed.jsonl"]
    )

    recorded = attempts(project / "recorded.jsonl")
    replayed = attempts(project / "replayed.jsonl")
    assert len(recorded) == 11
    assert passed(recorded, "coin") == passed(replayed, "coin") == 3
    assert replayed == recorded
    assert replayed_exit == recorded_exit


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_pytest_plugin_replays_every_attempt_as_recorded(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    """``--llm-record`` then ``--llm-model replay:``; under xdist the two cases with one
    prompt may record into one cassette from two workers."""
    write_project(pytester.path)
    run = pytester.runpytest_subprocess if workers else pytester.runpytest
    model = f"callable:{APP}:answer"
    first = run(
        *workers,
        "--llm-model",
        model,
        "--llm-record",
        "cassettes",
        "--llm-results",
        "recorded.jsonl",
    )
    forget_the_model(pytester.path)
    second = pytester.runpytest(
        "--llm-model", "replay:cassettes", "--llm-results", "replayed.jsonl"
    )

    recorded = attempts(pytester.path / "recorded.jsonl")
    replayed = attempts(pytester.path / "replayed.jsonl")
    assert len(recorded) == 11
    assert passed(recorded, "coin") == passed(replayed, "coin") == 3
    assert replayed == recorded
    assert verdicts(second) == verdicts(first)


def verdicts(result: pytest.RunResult) -> dict[str, int]:
    """How many pytest items passed, failed and errored."""
    return {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed", "errors")}
