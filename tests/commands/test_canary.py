"""``llmtest canary``: both models in one interleaved run, then the gate's verdict."""

from __future__ import annotations

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
