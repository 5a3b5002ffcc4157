"""--llm-results writes the runner's record format; --llm-shard, --llm-repeat, record/replay."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmtest.results import load_results
from llmtest.results.jsonl import ResultWriter

SUITE = "\n".join(
    ["model: 'echo:'", "cases:"]
    + [f"  - {{id: c{i}, prompt: 'answer {i}', assert: [{{contains: answer}}]}}" for i in range(12)]
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".llm.yaml", test_lib=SUITE)
    return pytester


def test_results_file_has_a_header_and_one_record_per_case(suite: pytest.Pytester) -> None:
    suite.runpytest("--llm-results", "runs/r.jsonl").assert_outcomes(passed=12)
    results = load_results(suite.path / "runs/r.jsonl")
    assert results.headers[0].model["name"] == "echo:"
    assert list(results.headers[0].suites) == ["test_lib.llm.yaml"]
    assert len(results.cases) == 12
    assert {c.run_id for c in results.cases} == {results.headers[0].run_id}
    assert (suite.path / ".llmtest/history.sqlite").exists()


def test_xdist_workers_append_to_one_results_file(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-n", "2", "--llm-results", "r.jsonl")
    result.assert_outcomes(passed=12)
    results = load_results(suite.path / "r.jsonl")
    assert len(results.headers) == 1
    assert sorted(c.case_id for c in results.cases) == sorted(f"c{i}" for i in range(12))
    assert {c.run_id for c in results.cases} == {results.headers[0].run_id}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_second_session_replaces_the_first_run_in_the_file(
    suite: pytest.Pytester, workers: list[str]
) -> None:
    suite.runpytest_subprocess(*workers, "--llm-results", "r.jsonl").assert_outcomes(passed=12)
    first = load_results(suite.path / "r.jsonl").headers[0].run_id
    second = suite.runpytest_subprocess(*workers, "--llm-results", "r.jsonl")
    second.assert_outcomes(passed=12)
    second.stdout.fnmatch_lines(["results: r.jsonl (it held an earlier run: replaced)"])
    results = load_results(suite.path / "r.jsonl")
    assert len(results.headers) == 1 and results.headers[0].run_id != first
    assert sorted(c.case_id for c in results.cases) == sorted(f"c{i}" for i in range(12))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_skipped_case_is_recorded_as_the_runner_records_it(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makefile(
        ".llm.yaml",
        test_lib="model: 'echo:'\ncases:\n"
        "  - {id: a, prompt: hi}\n"
        "  - {id: b, prompt: x, skip: not yet}\n",
    )
    result = pytester.runpytest_subprocess(*workers, "--llm-results", "r.jsonl")
    result.assert_outcomes(passed=1, skipped=1)
    records = {c.case_id: c for c in load_results(pytester.path / "r.jsonl").cases}
    assert sorted(records) == ["a", "b"]
    assert (records["b"].status, records["b"].error) == ("skip", "not yet")
    assert records["b"].model == "echo:"


def test_shards_partition_the_cases(suite: pytest.Pytester) -> None:
    seen: list[str] = []
    for k in (1, 2, 3):
        suite.runpytest("--llm-shard", f"{k}/3", f"--llm-results=s{k}.jsonl")
        seen += [c.case_id for c in load_results(suite.path / f"s{k}.jsonl").cases]
    assert sorted(seen) == sorted(f"c{i}" for i in range(12))


def test_bad_shard_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--llm-shard", "4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_repeat_option_records_every_attempt(suite: pytest.Pytester) -> None:
    suite.runpytest(
        "-k", "c1 and not c10 and not c11", "--llm-repeat", "3", "--llm-results", "r.jsonl"
    ).assert_outcomes(passed=1)
    attempts = sorted(c.attempt for c in load_results(suite.path / "r.jsonl").cases)
    assert attempts == [0, 1, 2]


def test_record_then_replay_without_the_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="def answer(prompt):\n    return prompt.upper()\n")
    pytester.makefile(
        ".llm.yaml",
        test_a=textwrap.dedent("""
        cases:
          - {id: a, prompt: hello, assert: [{equals: HELLO}]}
    """),
    )
    pytester.runpytest("--llm-model", "callable:app:answer", "--llm-record", "cassettes")
    assert list((pytester.path / "cassettes").glob("*.json"))
    (pytester.path / "app.py").unlink()
    result = pytester.runpytest("--llm-model", "replay:cassettes")
    result.assert_outcomes(passed=1)


def test_a_results_file_another_run_is_writing_is_a_usage_error(suite: pytest.Pytester) -> None:
    with ResultWriter(suite.path / "r.jsonl") as other_run:
        other_run.claim()
        result = suite.runpytest_subprocess("--llm-results", "r.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-results: *r.jsonl is being written by another run*"])
    assert not result.errlines[0].startswith("Traceback")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_a_results_file_on_a_full_disk_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("--llm-results", "/dev/full")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    result.stderr.fnmatch_lines(
        ["ERROR: --llm-results: cannot write results file /dev/full: No space left on device"]
    )
