"""``llmtest canary``: both models in one interleaved run, then the gate's verdict."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from llmtest.commands.main import main
from llmtest.results import load_results
from tests.support.browser import dump_dom, find_chromium
from tests.support.llm_server import FakeLLMServer


def reply(model: str, messages: list[dict[str, str]]) -> str:
    """The candidate forgets the refund window and learns the shipping time."""
    prompt = messages[-1]["content"]
    if "refund" in prompt:
        return "30 days" if model == "old" else "I am not sure."
    if "shipping" in prompt:
        return "3 to 5 business days" if model == "new" else "It depends."
    return "Paris"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bot.llm.yaml").write_text(
        textwrap.dedent("""
        cases:
          - {id: refund, prompt: "How long is the refund window?", tags: [critical],
             assert: [{contains: "30 days"}]}
          - {id: shipping, prompt: "How long does shipping take?",
             assert: [{regex: "\\\\d+ to \\\\d+ business days"}]}
          - {id: capital, prompt: "Capital of France?", assert: [{contains: Paris}]}
    """)
    )
    return tmp_path


def configure(project: Path, server: FakeLLMServer, gate: str) -> None:
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [tool.llmtest.models.old]
        adapter = "openai"
        model = "old"
        base_url = "{server.url}"

        [tool.llmtest.models.new]
        adapter = "openai"
        model = "new"
        base_url = "{server.url}"
    """)
        + (f"\n[tool.llmtest.gate]\n{gate}\n" if gate else "")
    )


def canary(*args: str) -> int:
    return main(["canary", "tests", "--progress", "none", "--no-history", *args])


def test_a_regression_in_a_blocking_tag_blocks_the_promotion(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeLLMServer(reply=reply) as server:
        configure(project, server, 'block_on_tags = ["critical"]\nmax_regressions = 5')
        code = canary("--baseline", "old", "--candidate", "new", "--markdown", "report.md")
    assert code == 1
    report = (project / "report.md").read_text()
    assert "refund" in report and "shipping" in report
    baseline = load_results(project / "runs/baseline.jsonl")
    candidate = load_results(project / "runs/candidate.jsonl")
    assert baseline.header and candidate.header
    assert baseline.header.extra["canary"] == "baseline" and baseline.header.model_name == "old"
    assert candidate.header.model_name == "new"
    assert len(baseline.cases) == len(candidate.cases) == 3
    out = capsys.readouterr().out
    assert "block" in out.lower()


def test_only_fixes_promote(project: Path) -> None:
    def fixed(model: str, messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        if "refund" in prompt:
            return "30 days"
        return reply(model, messages)

    with FakeLLMServer(reply=fixed) as server:
        configure(project, server, 'block_on_tags = ["critical"]')
        assert canary("--baseline", "old", "--candidate", "new") == 0


def test_a_rerun_into_the_same_folder_replaces_the_earlier_canary_and_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeLLMServer(reply=reply) as server:
        configure(project, server, "")
        code = canary("--baseline", "old", "--candidate", "new")
        first = load_results(project / "runs/baseline.jsonl").header
        assert "replacing" not in capsys.readouterr().err
        assert canary("--baseline", "old", "--candidate", "new") == code
    assert "replacing the earlier canary run in runs/" in capsys.readouterr().err
    for side in ("baseline", "candidate"):
        rerun = load_results(project / f"runs/{side}.jsonl")
        assert len(rerun.headers) == 1 and len(rerun.cases) == 3
        assert first is not None and rerun.headers[0].run_id != first.run_id


@pytest.mark.parametrize("flag", ["--baseline", "--candidate"])
def test_a_misspelled_model_is_blamed_on_its_flag_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    with FakeLLMServer(reply=reply) as server:
        configure(project, server, "")
        models = {"--baseline": "old", "--candidate": "new", flag: "nwe"}
        code = canary("--baseline", models["--baseline"], "--candidate", models["--candidate"])
    assert code == 2
    assert capsys.readouterr().err.startswith(
        f"llmtest canary: {flag}: unknown model 'nwe': not an alias in [tool.llmtest.models]"
    )
    assert not (project / "runs").exists()


def test_the_html_comparison_shows_the_verdict_and_both_answers_as_text(project: Path) -> None:
    chromium = find_chromium()

    def hostile(model: str, messages: list[dict[str, str]]) -> str:
        if model == "new" and "refund" in messages[-1]["content"]:
            return "<script>document.title='pwned'</script>no idea"
        return reply(model, messages)

    with FakeLLMServer(reply=hostile) as server:
        configure(project, server, 'block_on_tags = ["critical"]')
        assert canary("--baseline", "old", "--candidate", "new", "--html", "cmp.html") == 1
    dom = dump_dom(chromium, project / "cmp.html", project / "profile")
    assert "pwned" not in dom.split("</title>")[0]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "30 days" in dom
    assert "<script" not in dom
    assert "blocked" in dom.lower()


def simulated_project(root: Path, cases: dict[str, tuple[str, list[str]]], gate: str = "") -> None:
    """A project whose two models are tests.support.simulated_models: each case id maps
    to (kind, tags); every case asserts the answer PASS."""
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""
        [tool.llmtest.models.current]
        adapter = "callable"
        model = "tests.support.simulated_models:baseline"

        [tool.llmtest.models.next]
        adapter = "callable"
        model = "tests.support.simulated_models:candidate"
        """)
        + (f"\n[tool.llmtest.gate]\n{gate}\n" if gate else "")
    )
    lines = ["cases:"]
    for case_id, (kind, tags) in cases.items():
        lines.append(
            f"  - {{id: {case_id}, prompt: '{kind} {case_id}', tags: {tags},"
            " assert: [{equals: PASS}]}"
        )
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_sim.llm.yaml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def sim_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    return tmp_path


def sim_canary(*args: str) -> int:
    return canary("--baseline", "current", "--candidate", "next", "--no-cache", *args)


def confirmations(path: Path) -> dict[str, dict[str, object]]:
    data = json.loads(path.read_text())
    return {c["case_id"]: c for c in data["gate"]["confirmations"]}


def test_with_no_gate_a_flip_that_does_not_come_back_is_flaky_and_promotes(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases: dict[str, tuple[str, list[str]]] = {f"s{i}": ("stable", []) for i in range(10)}
    cases |= {"flip-a": ("flip", ["critical"]), "flip-b": ("flip", [])}
    simulated_project(sim_root, cases)
    assert sim_canary("--json", "cmp.json") == 0
    found = confirmations(sim_root / "cmp.json")
    assert {k: v["state"] for k, v in found.items()} == {
        "flip-a": "not confirmed",
        "flip-b": "not confirmed",
    }
    # Each candidate passed its first re-run: confirmation was out of reach at once.
    assert found["flip-a"]["candidate"] == {"passed": 1, "attempts": 1}
    assert found["flip-a"]["baseline"] == {"passed": 0, "attempts": 0}
    err, out = capsys.readouterr()[::-1]
    assert "re-ran 2 regressions on both models to confirm them: 2 extra calls (8.3% of the " in (
        err
    )
    assert out.startswith(
        "llmtest compare: PROMOTE — 12 paired cases, 0 confirmed regressions, 2 flaky"
    )
    candidate = load_results(sim_root / "runs/candidate.jsonl")
    assert len(candidate.cases) == 12 and len(candidate.confirmations) == 2


def test_with_no_gate_a_case_that_truly_broke_is_confirmed_and_blocks(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases: dict[str, tuple[str, list[str]]] = {f"s{i}": ("stable", []) for i in range(10)}
    cases |= {"refund": ("broken", ["critical"]), "flip-a": ("flip", []), "flip-b": ("flip", [])}
    simulated_project(sim_root, cases)
    assert sim_canary("--json", "cmp.json", "--markdown", "cmp.md") == 1
    found = confirmations(sim_root / "cmp.json")
    assert found["refund"]["state"] == "confirmed"
    assert found["refund"]["baseline"] == {"passed": 4, "attempts": 4}
    assert found["refund"]["candidate"] == {"passed": 0, "attempts": 4}
    assert found["flip-a"]["state"] == found["flip-b"]["state"] == "not confirmed"
    data = json.loads((sim_root / "cmp.json").read_text())
    assert data["confirmation_calls"] == 8 + 1 + 1
    rules = {r["name"]: r for r in data["gate"]["rules"]}
    assert rules["block_on_tags"]["state"] == "failed"
    assert rules["block_on_tags"]["cases"] == ["refund"]
    assert rules["max_confirmed_regressions"]["measured"] == "1"
    out = capsys.readouterr().out
    assert "confirmed regression: tests/test_sim.llm.yaml::refund (re-run: baseline 4/4, " in out
    assert "flaky (2): flip-a, flip-b" in out
    markdown = (sim_root / "cmp.md").read_text()
    assert "### ❌ Confirmed regressions (1)" in markdown
    assert "### 〰️ Flaky: pass→fail, not confirmed (2)" in markdown
    # A later compare of the same files reads the confirmation records: the same verdict.
    assert (
        main(["compare", "runs/baseline.jsonl", "runs/candidate.jsonl", "--json", "again.json"])
        == 1
    )
    assert confirmations(sim_root / "again.json") == found


def test_a_broken_case_outside_any_blocking_tag_still_blocks_once_confirmed(sim_root: Path) -> None:
    simulated_project(sim_root, {"a": ("stable", []), "b": ("broken", []), "c": ("fixed", [])})
    assert sim_canary("--json", "cmp.json") == 1
    data = json.loads((sim_root / "cmp.json").read_text())
    rules = {r["name"]: r for r in data["gate"]["rules"]}
    assert rules["max_confirmed_regressions"]["state"] == "failed"
    assert rules["max_confirmed_regressions"]["cases"] == ["b"]
    assert rules["max_pass_rate_drop"]["state"] == "held"  # one up, one down: no drop


def test_with_confirmation_off_a_critical_flip_blocks_and_says_it_could_not_be_confirmed(
    sim_root: Path,
) -> None:
    simulated_project(
        sim_root, {"a": ("stable", []), "refund": ("flip", ["critical"])}, "confirm_attempts = 0"
    )
    assert sim_canary("--json", "cmp.json") == 1
    data = json.loads((sim_root / "cmp.json").read_text())
    assert data["confirmation_calls"] == 0
    reasons = " ".join(data["gate"]["reasons"])
    assert "block_on_tags: regression tagged critical: refund: not confirmable" in reasons
