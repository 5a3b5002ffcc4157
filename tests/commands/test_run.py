"""``llmtest run``: streamed results, exit codes, selection, resume after an interrupt."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llmtest.commands.main import main
from llmtest.results import load_results
from llmtest.results.history import History
from tests.support.hostile import laughs
from tests.support.llm_server import FakeLLMServer


def make_project(
    folder: Path, server: FakeLLMServer, *, cases: int = 3, model: str = "m", extra: str = ""
) -> None:
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [tool.llmtest]
        model = "bot"

        [tool.llmtest.models.bot]
        adapter = "openai"
        model = "{model}"
        base_url = "{server.url}"
        {extra}
    """)
    )
    lines = [
        json.dumps(
            {
                "id": f"c{i}",
                "prompt": f"question {i}",
                "tags": ["even" if i % 2 == 0 else "odd"],
                "assert": [{"contains": f"question {i}"}],
            }
        )
        for i in range(cases)
    ]
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "test_lib.llm.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_provider: FakeLLMServer) -> Path:
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, fake_provider)
    return tmp_path


def run(*args: str) -> int:
    return main(["run", "--progress", "none", "--no-history", *args])


def test_all_pass_exits_0_and_streams_a_header_and_one_record_per_case(project: Path) -> None:
    assert run("tests", "--out", "runs/a.jsonl") == 0
    results = load_results(project / "runs/a.jsonl")
    assert results.headers[0].model["name"] == "bot"
    assert results.headers[0].suites == {
        "tests/test_lib.llm.jsonl": results.headers[0].suites["tests/test_lib.llm.jsonl"]
    }
    assert sorted(c.case_id for c in results.cases) == ["c0", "c1", "c2"]
    assert {c.status for c in results.cases} == {"pass"}


def test_a_second_run_to_the_same_file_replaces_the_first(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("tests", "--out", "runs/a.jsonl") == 0
    first = load_results(project / "runs/a.jsonl").headers[0].run_id
    capsys.readouterr()
    assert run("tests", "--out", "runs/a.jsonl") == 0
    results = load_results(project / "runs/a.jsonl")
    assert len(results.headers) == 1 and results.headers[0].run_id != first
    assert sorted(c.case_id for c in results.cases) == ["c0", "c1", "c2"]
    assert "results: runs/a.jsonl (it held an earlier run: replaced)" in capsys.readouterr().out


def test_a_failed_case_exits_1(project: Path) -> None:
    (project / "tests" / "test_fail.llm.yaml").write_text(
        "cases: [{id: nope, prompt: hi, assert: [{contains: absent}]}]\n"
    )
    assert run("tests", "--out", "r.jsonl") == 1


def test_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tests", "--model", "openai:status-400", "--out", "r.jsonl") == 2
    assert "errors prevented a verdict" in capsys.readouterr().out


def test_a_bad_case_file_exits_2_naming_file_line_case_and_field(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_bad.llm.yaml").write_text(
        "cases:\n  - id: x\n    prompt: hi\n    assert:\n      - contains: 5\n"
    )
    assert run("tests") == 2
    assert "tests/test_bad.llm.yaml:5: case 'x': assertion 'contains'" in capsys.readouterr().err


def test_selection_by_tag_id_and_max_cases(project: Path) -> None:
    run("tests", "--tags", "even", "--out", "tags.jsonl")
    assert sorted(c.case_id for c in load_results("tags.jsonl").cases) == ["c0", "c2"]
    run("tests", "--exclude-tags", "even", "--out", "excl.jsonl")
    assert [c.case_id for c in load_results("excl.jsonl").cases] == ["c1"]
    run("tests", "-k", "c[12]", "--out", "ids.jsonl")
    assert sorted(c.case_id for c in load_results("ids.jsonl").cases) == ["c1", "c2"]
    run("tests", "--max-cases", "1", "--out", "max.jsonl")
    assert len(load_results("max.jsonl").cases) == 1


def test_shards_split_the_cases_without_overlap_and_merge_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_provider: FakeLLMServer
) -> None:
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, fake_provider, cases=20)
    for k in (1, 2, 3):
        assert run("tests", "--shard", f"{k}/3", "--out", f"shard{k}.jsonl") == 0
    ids = [[c.case_id for c in load_results(f"shard{k}.jsonl").cases] for k in (1, 2, 3)]
    assert sorted(i for shard in ids for i in shard) == sorted(f"c{i}" for i in range(20))
    assert all(ids)
    assert (
        main(["merge", "shard1.jsonl", "shard2.jsonl", "shard3.jsonl", "--out", "all.jsonl"]) == 0
    )
    assert len(load_results("all.jsonl").cases) == 20
    assert main(["merge", "shard1.jsonl", "shard1.jsonl", "--out", "dup.jsonl"]) == 2


def test_an_empty_shard_names_the_run_model_and_merges(project: Path) -> None:
    """More shards than cases leaves a shard with nothing to run; its header still names
    the model, so a CI matrix can merge it with the others."""
    for k in (1, 2, 3, 4):
        assert run("tests", "--shard", f"{k}/4", "--out", f"shard{k}.jsonl") == 0
    counts = [len(load_results(f"shard{k}.jsonl").cases) for k in (1, 2, 3, 4)]
    assert 0 in counts and sum(counts) == 3
    headers = [load_results(f"shard{k}.jsonl").headers[0].model["name"] for k in (1, 2, 3, 4)]
    assert headers == ["bot"] * 4
    shards = [f"shard{k}.jsonl" for k in (1, 2, 3, 4)]
    assert main(["merge", *shards, "--out", "all.jsonl"]) == 0
    assert len(load_results("all.jsonl").cases) == 3


def test_merge_refuses_different_models(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run("tests", "--out", "a.jsonl")
    run("tests", "--model", "echo:", "--out", "b.jsonl")
    assert main(["merge", "a.jsonl", "b.jsonl", "--out", "m.jsonl"]) == 2
    assert "refusing to merge runs of different models" in capsys.readouterr().err


def test_repeat_records_every_attempt(project: Path) -> None:
    assert run("tests", "-k", "c0", "--repeat", "3", "--out", "r.jsonl") == 0
    assert sorted(c.attempt for c in load_results("r.jsonl").cases) == [0, 1, 2]


def test_fault_injection_every_case_is_decided_on_its_merits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20% 429 with Retry-After, 10% 503, 5% hanging past the timeout: all 500 cases end
    passed or failed on their merits, the retries are counted, none is missing."""
    monkeypatch.chdir(tmp_path)
    faults = {"429": 0.2, "503": 0.1, "hang": 0.05}
    with FakeLLMServer(fault_rates=faults, retry_after=1, seed=7) as server:
        make_project(tmp_path, server, cases=500, extra="timeout_s = 0.5\nmax_retries = 10")
        code = run("tests", "--out", "faults.jsonl", "--concurrency", "64")
        requests = len(server.requests)
    results = load_results("faults.jsonl")
    assert code == 0
    assert len(results.cases) == 500
    assert {c.status for c in results.cases} == {"pass"}
    retries = sum(c.retries for c in results.cases)
    assert retries > 0
    assert requests == 500 + retries


def test_interrupt_then_resume_runs_only_what_is_missing(
    tmp_path: Path, fake_provider: FakeLLMServer
) -> None:
    with FakeLLMServer(delay=0.05) as server:
        make_project(tmp_path, server, cases=500)
        command = [
            sys.executable,
            "-m",
            "llmtest.commands.main",
            "run",
            "tests",
            "--out",
            "r.jsonl",
            "--concurrency",
            "4",
            "--progress",
            "plain",
            "--no-history",
        ]
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        results_file = tmp_path / "r.jsonl"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if results_file.exists() and results_file.read_text().count('"type": "case"') >= 40:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "--resume r.jsonl" in err
        before = {c.prompt for c in load_results(results_file).cases}
        assert 40 <= len(before) < 500
        resume = [
            sys.executable,
            "-m",
            "llmtest.commands.main",
            "run",
            "tests",
            "--resume",
            "r.jsonl",
            "--concurrency",
            "16",
            "--progress",
            "none",
            "--no-history",
        ]
        resumed = subprocess.run(resume, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        final = load_results(results_file)
        assert len(final.cases) == 500
        assert len({c.case_id for c in final.cases}) == 500
        assert len(final.headers) == 1
        for prompt in before:
            assert prompt is not None
            assert len(server.requests_for(prompt)) == 1


def add_alias(project: Path, name: str, server: FakeLLMServer, model: str, extra: str = "") -> None:
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write(
            f'[tool.llmtest.models.{name}]\nadapter = "openai"\nmodel = "{model}"\n'
            f'base_url = "{server.url}"\n{extra}'
        )


def partial(path: Path, *case_ids: str) -> None:
    """Keep the header and the records of ``case_ids``: a run cut short. (Records are in
    the order the answers came, so which ones are first is not known.)"""
    header, *records = path.read_text().splitlines()
    kept = [r for r in records if json.loads(r)["case_id"] in case_ids]
    path.write_text("\n".join([header, *kept]) + "\n")


def test_a_resumed_run_is_judged_on_the_whole_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_fail.llm.yaml").write_text(
        "cases: [{id: nope, prompt: hi, assert: [{contains: absent}]}]\n"
    )
    assert run("tests/test_fail.llm.yaml", "tests/test_lib.llm.jsonl", "--out", "r.jsonl") == 1
    partial(project / "r.jsonl", "nope")
    assert [c.status for c in load_results(project / "r.jsonl").cases] == ["fail"]
    capsys.readouterr()
    assert run("tests", "--resume", "r.jsonl") == 1
    out = capsys.readouterr().out
    assert "1 case already in the resumed file" in out
    assert "the whole run: 4 cases · 3 passed · 1 failed · 0 errors · 0 skipped" in out
    assert "verdict: some cases failed (exit 1)" in out


def test_a_resume_reuses_the_runs_model_and_reruns_changed_cases(
    project: Path, fake_provider: FakeLLMServer
) -> None:
    (project / "tests" / "test_skip.llm.yaml").write_text(
        "cases: [{id: later, prompt: hi, skip: not yet}]\n"
    )
    add_alias(project, "other", fake_provider, "m2")
    assert run("tests", "--model", "other", "--out", "r.jsonl") == 0
    partial(project / "r.jsonl", "later", "c0", "c1")
    suite = project / "tests" / "test_lib.llm.jsonl"
    suite.write_text(suite.read_text().replace("question 0", "question zero"))
    # No --model: the run's own model, not the project default.
    assert run("tests", "--resume", "r.jsonl") == 0
    final = load_results(project / "r.jsonl")
    assert sorted(c.case_id for c in final.cases) == ["c0", "c1", "c2", "later"]
    assert {c.model for c in final.cases} == {"other"}
    assert len(fake_provider.requests_for("question zero")) == 1


def test_retry_errors_runs_again_only_what_got_no_answer(
    project: Path, fake_provider: FakeLLMServer
) -> None:
    with FakeLLMServer() as outage:
        make_project(project, outage)
        (project / "tests" / "test_down.llm.yaml").write_text(
            "cases: [{id: down, prompt: 'during the outage', model: broken}]\n"
        )
        add_alias(project, "broken", outage, "status-503", "max_retries = 0\n")
        assert run("tests", "--out", "r.jsonl") == 2
        # The outage is over: the same alias now reaches a model that answers.
        text = (project / "pyproject.toml").read_text().replace('"status-503"', '"m"')
        (project / "pyproject.toml").write_text(text)
        assert run("tests", "--resume", "r.jsonl") == 2  # errors are records: nothing runs
        assert run("tests", "--resume", "r.jsonl", "--retry-errors") == 0
        final = load_results(project / "r.jsonl")
        assert sorted((c.case_id, c.status) for c in final.cases) == [
            ("c0", "pass"),
            ("c1", "pass"),
            ("c2", "pass"),
            ("down", "pass"),
        ]
        assert len(outage.requests_for("question 0")) == 1


def test_a_mixed_model_run_resumes_without_model_only(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_echo.llm.yaml").write_text(
        "model: 'echo:'\ncases: [{id: e, prompt: hi}]\n"
    )
    assert run("tests", "--out", "r.jsonl") == 0
    partial(project / "r.jsonl", "c0", "c1")
    capsys.readouterr()
    assert run("tests", "--resume", "r.jsonl", "--model", "echo") == 2
    assert "resume it without --model echo" in capsys.readouterr().err
    assert run("tests", "--resume", "r.jsonl") == 0
    models = {c.case_id: c.model for c in load_results(project / "r.jsonl").cases}
    assert models == {"c0": "bot", "c1": "bot", "c2": "bot", "e": "echo:"}


def test_resume_and_a_different_out_file_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("tests", "--out", "r.jsonl") == 0
    assert run("tests", "--resume", "r.jsonl", "--out", "other.jsonl") == 2
    assert "--out other.jsonl and --resume r.jsonl name different files" in capsys.readouterr().err


def test_a_selection_that_matches_nothing_is_no_verdict_and_touches_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("tests", "--out", "r.jsonl") == 0
    before = (project / "r.jsonl").read_text()
    assert run("tests", "-k", "nomatch*", "--out", "r.jsonl") == 2
    assert "verdict: no case matched the selection (exit 2)" in capsys.readouterr().out
    assert (project / "r.jsonl").read_text() == before


def test_a_crash_torn_last_line_is_dropped_before_the_resume_appends(project: Path) -> None:
    assert run("tests", "--out", "r.jsonl") == 0
    text = (project / "r.jsonl").read_text()
    (project / "r.jsonl").write_text(text[: len(text) - 40])  # the last record cut short
    assert run("tests", "--resume", "r.jsonl") == 0
    final = load_results(project / "r.jsonl")
    assert final.skipped_lines == 0
    assert sorted(c.case_id for c in final.cases) == ["c0", "c1", "c2"]


def test_shards_resumed_after_an_edit_still_merge(project: Path) -> None:
    assert run("tests", "--shard", "1/2", "--out", "s1.jsonl") == 0
    assert run("tests", "--shard", "2/2", "--out", "s2.jsonl") == 0
    suite = project / "tests" / "test_lib.llm.jsonl"
    suite.write_text(suite.read_text().replace("question 1", "question one"))
    assert run("tests", "--shard", "1/2", "--resume", "s1.jsonl") == 0
    assert run("tests", "--shard", "2/2", "--resume", "s2.jsonl") == 0
    assert main(["merge", "s1.jsonl", "s2.jsonl", "--out", "all.jsonl"]) == 0
    assert sorted(c.case_id for c in load_results(project / "all.jsonl").cases) == [
        "c0",
        "c1",
        "c2",
    ]


def test_resume_refuses_a_file_without_a_header_and_accepts_the_same_file_spelled_otherwise(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "empty.jsonl").write_text("")
    assert run("tests", "--resume", "empty.jsonl") == 2
    assert "empty.jsonl has no run header" in capsys.readouterr().err
    assert run("tests", "--out", "r.jsonl") == 0
    assert run("tests", "--resume", "r.jsonl", "--out", str(project / "r.jsonl")) == 0


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("openai:", "openai: the openai adapter needs a model name"),
        ("callable:app", "callable target 'app' must look like 'package.module:function'"),
        ("replay", "model 'replay:': replay needs a cassette folder"),
    ],
)
def test_a_model_missing_its_name_is_a_usage_error_before_any_call(
    project: Path, capsys: pytest.CaptureFixture[str], model: str, message: str
) -> None:
    assert run("tests", "--model", model, "--out", "r.jsonl") == 2
    assert f"--model: {message}" in capsys.readouterr().err
    assert not (project / "r.jsonl").exists()


def test_an_unknown_model_on_the_command_line_names_the_flag(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("tests", "--model", "nosuch", "--out", "r.jsonl") == 2
    err = capsys.readouterr().err
    assert "--model: unknown model 'nosuch'" in err
    assert "case" not in err


def test_the_history_holds_what_the_results_file_holds(project: Path) -> None:
    (project / "tests" / "test_fail.llm.yaml").write_text(
        "cases: [{id: nope, prompt: hi, tags: [t], assert: [{contains: absent}]}]\n"
    )
    assert main(["run", "--progress", "none", "tests", "--out", "r.jsonl"]) == 1
    History(project / "imported.sqlite").import_file("r.jsonl")

    def rows(database: str, table: str) -> list[dict[str, object]]:
        with sqlite3.connect(project / database) as db:
            db.row_factory = sqlite3.Row
            found = [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
        for row in found:  # when the run was stored, not what it holds
            row.pop("recorded_at", None)
            row.pop("finished_at", None)
        return found

    for table in ("runs", "cases"):
        assert rows(".llmtest/history.sqlite", table) == rows("imported.sqlite", table)
    (run,) = History(project / ".llmtest/history.sqlite").recent_runs()
    assert (run.cases, run.passed, run.failed) == (4, 3, 1)


def test_secrets_never_reach_results_cassettes_history_or_reports(
    project: Path, monkeypatch: pytest.MonkeyPatch, fake_provider: FakeLLMServer
) -> None:
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    (project / "tests" / "test_leak.llm.yaml").write_text(
        f"cases: [{{id: leak, prompt: 'my key is {secret}'}}]\n"
    )
    run_args = ["tests", "--out", "runs/s.jsonl", "--record", "cassettes"]
    main(["run", "--progress", "none", "--history", "h.sqlite", *run_args])
    main(
        [
            "run",
            "--progress",
            "none",
            "--history",
            "h.sqlite",
            "tests",
            "--model",
            "openai:status-401",
            "--out",
            "runs/e.jsonl",
        ]
    )
    main(
        [
            "report",
            "runs/s.jsonl",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
            "--html",
            "r.html",
            "--json",
            "r.json",
        ]
    )
    for path in project.rglob("*"):
        if path.is_file() and "tests" not in path.parts:
            assert secret.encode() not in path.read_bytes(), path
    assert any(fake_provider.requests_for(f"my key is {secret}"))


def test_no_case_files_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(".") == 2
    assert "no case files under ." in capsys.readouterr().err


def test_a_repeated_case_that_errors_shows_the_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_rep.llm.yaml").write_text(
        "cases: [{id: rep, prompt: hi, repeat: 3, min_pass_rate: 0.6}]\n"
    )
    assert run("tests/test_rep.llm.yaml", "--model", "openai:status-400", "--out", "r.jsonl") == 2
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("ERROR")]
    assert line == (
        "ERROR tests/test_rep.llm.yaml::rep - pass rate 0/3, needed 0.60: error: openai model "
        "'status-400': OPENAI_API_KEY is not set; export it or set api_key_env in "
        "[tool.llmtest.models.<alias>]"
    )


def test_a_second_run_into_the_same_results_file_is_refused_while_the_first_writes(
    tmp_path: Path,
) -> None:
    """Two runs at once into one --out would mix their records; the second is refused with
    a message, and the first finishes with only its own records."""
    (tmp_path / "app.py").write_text(
        textwrap.dedent("""
        import pathlib, time

        def answer(prompt):
            release = pathlib.Path(__file__).with_name("release")
            for _ in range(1200):  # at most a minute, never a fixed sleep
                if release.exists():
                    return prompt
                time.sleep(0.05)
            return "released by nobody"
    """)
    )
    (tmp_path / "pyproject.toml").write_text('[tool.llmtest]\nmodel = "callable:app:answer"\n')
    (tmp_path / "test_a.llm.yaml").write_text("cases: [{id: a, prompt: hi}]\n")
    command = [sys.executable, "-m", "llmtest", "run", "--out", "r.jsonl", "--progress", "none"]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            results = tmp_path / "r.jsonl"
            if results.exists() and results.read_text().strip():
                break
            time.sleep(0.05)
        second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            "llmtest run: r.jsonl is being written by another run right now; let it finish or "
            "choose another results file"
        ]
    finally:
        (tmp_path / "release").touch()
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 0, out
    final = load_results(tmp_path / "r.jsonl")
    assert len(final.headers) == 1 and [c.case_id for c in final.cases] == ["a"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_a_full_disk_is_one_line_and_exit_2(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmtest", "run", "tests", "--out", "/dev/full", "--no-history"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "llmtest run: cannot write results file /dev/full: No space left on device"
    ]


def test_a_cache_that_cannot_store_fails_no_case(project: Path) -> None:
    """Every case got its answer: a cache folder that cannot be written is a warning."""
    (project / ".llmtest").mkdir()
    (project / ".llmtest" / "cache").write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "llmtest", "run", "tests", "--out", "r.jsonl", "--cache", "on"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: the response cache could not store 3 answers: " in done.stderr
    assert {c.status for c in load_results(project / "r.jsonl").cases} == {"pass"}


def test_a_case_file_linked_beside_itself_runs_once(project: Path) -> None:
    (project / "tests" / "test_link.llm.jsonl").symlink_to(project / "tests" / "test_lib.llm.jsonl")
    assert run("tests", "--out", "r.jsonl") == 0
    cases = load_results(project / "r.jsonl").cases
    assert sorted(c.case_id for c in cases) == ["c0", "c1", "c2"]


def test_a_regex_past_its_time_limit_is_an_error_that_names_it_and_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``^(a|a)+$`` on 40 a's and a b would take ``re`` hours; the echo model answers it."""
    monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)
    (project / "tests" / "test_redos.llm.yaml").write_text(
        f"cases: [{{id: redos, prompt: {'a' * 40}b, assert: [{{regex: '^(a|a)+$'}}]}}]\n"
    )
    out_file = project / "r.jsonl"
    assert run("tests/test_redos.llm.yaml", "--model", "echo:", "--out", str(out_file)) == 2
    message = (
        "regex '^(a|a)+$': matching the output took longer than 0.05 s "
        "(a pattern that backtracks catastrophically?); simplify it"
    )
    (case,) = load_results(out_file).cases
    assert (case.status, case.error, case.output) == ("error", message, "a" * 40 + "b")
    out = capsys.readouterr().out
    assert f"ERROR tests/test_redos.llm.yaml::redos - {message}" in out
    assert "errors prevented a verdict" in out


BILLION_LAUGHS = laughs(10)
"""Ten levels of nine aliases: 3.9 billion values, refused before one is expanded."""


def test_a_billion_laughs_is_one_line_and_exit_2_before_any_call(
    project: Path, fake_provider: FakeLLMServer
) -> None:
    (project / "tests" / "test_bomb.llm.yaml").write_text(BILLION_LAUGHS)
    calls = len(fake_provider.requests)
    done = subprocess.run(
        [sys.executable, "-m", "llmtest", "run", "tests", "--out", "r.jsonl", "--no-history"],
        capture_output=True,
        text=True,
        timeout=60,  # a guard against the bomb going off, not a measure of speed
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tests/test_bomb.llm.yaml:12: case 'laughs': field 'metadata': the file "
        "holds more than 10,000,000 values once its aliases are expanded (the limit)"
    ]
    assert not (project / "r.jsonl").exists()
    assert len(fake_provider.requests) == calls  # the good suite beside it did not run either


def test_a_csv_cell_nested_10000_deep_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = "[" * 10_000 + "]" * 10_000
    (project / "tests" / "test_deep.llm.csv").write_text(f"id,prompt,contains\nd,hi,{cell}\n")
    assert run("tests") == 2
    assert capsys.readouterr().err.splitlines() == [
        "tests/test_deep.llm.csv:2: case 'd': field 'contains': nests too deeply "
        "(more than 64 levels of lists and mappings)"
    ]


def test_the_counts_agree_from_the_first_line_to_the_last_and_say_one_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_mixed.llm.yaml").write_text(
        "cases: [{id: ok, prompt: hi}, {id: later, prompt: hi, skip: not yet},"
        " {id: broken, prompt: hi, model: 'openai:status-400'}]\n"
    )
    code = main(
        [
            "run",
            "tests/test_mixed.llm.yaml",
            "--progress",
            "plain",
            "--no-history",
            "--max-retries",
            "0",
            "--out",
            "r.jsonl",
        ]
    )
    assert code == 2
    captured = capsys.readouterr()
    assert "llmtest: running 2 cases (1 skipped)" in captured.err
    assert "[2/2] 1 passed, 0 failed, 1 error, 0 retries" in captured.err
    assert "llmtest run · 3 cases on" in captured.out
    assert "1 passed · 0 failed · 1 error · 1 skipped · 0 retries" in captured.out


def test_a_file_without_cases_is_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "tests" / "test_empty.llm.yaml").write_text("cases: []\n")
    assert run("tests/test_empty.llm.yaml") == 2
    captured = capsys.readouterr()
    assert "tests/test_empty.llm.yaml: the file has no cases" in captured.err
    assert "verdict: the case files hold no cases (exit 2)" in captured.out
