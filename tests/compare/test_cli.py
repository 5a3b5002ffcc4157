"""``llmtest compare`` on the command line: reports written, exit code = verdict."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import llmtest.commands.main
from llmtest.results import load_results
from tests.compare.helpers import pair_files
from tests.reports.builders import case
from tests.support.llm_server import FakeLLMServer


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """``llmtest`` with the compare command registered (cli.py lists it once the lead adds it)."""
    if "compare" not in llmtest.commands.main.COMMANDS:
        monkeypatch.setattr(
            llmtest.commands.main, "COMMANDS", (*llmtest.commands.main.COMMANDS, "compare")
        )

    def main(*args: str) -> int:
        return llmtest.commands.main.main(list(args))

    return main


def test_promote_exits_0_and_prints_the_verdict(
    tmp_path: Path, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = pair_files(tmp_path, [case("a", "fail"), case("b")], [case("a"), case("b")])
    assert cli("compare", str(base.path), str(cand.path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("llmtest compare: PROMOTE")
    assert "fixes (1): a" in out


def test_blocked_exits_1_and_writes_markdown_and_json(
    tmp_path: Path, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = pair_files(
        tmp_path,
        [case("a", tags=["critical"]), case("b")],
        [case("a", "fail", tags=["critical"]), case("b")],
    )
    gate = tmp_path / "gate.toml"
    gate.write_text("block_on_tags = ['critical']\nmax_regressions = 5\n")
    out = tmp_path / "out"
    md, js, page, junit = (out / f"compare.{ext}" for ext in ("md", "json", "html", "xml"))
    code = cli(
        "compare", str(base.path), str(cand.path), "--gate", str(gate),
        "--markdown", str(md), "--json", str(js), "--html", str(page), "--junit", str(junit),
    )  # fmt: skip
    assert code == 1
    assert "regression: tests/test_support.llm.yaml::a" in capsys.readouterr().out
    assert md.read_text().startswith("## ❌ llmtest compare: BLOCKED")
    data = json.loads(js.read_text())
    assert data["gate"]["verdict"] == "blocked"
    assert [r["case_id"] for r in data["regressions"]] == ["a"]
    assert "<h2>Regressions that could not be confirmed (1)</h2>" in page.read_text()
    assert 'failures="1"' in junit.read_text()


def test_markdown_to_stdout_replaces_the_terminal_text(
    tmp_path: Path, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = pair_files(tmp_path, [case("a")], [case("a")])
    assert cli("compare", str(base.path), str(cand.path), "--markdown", "-") == 0
    assert capsys.readouterr().out.startswith("## ✅ llmtest compare: PROMOTE")


def test_errors_exit_2(tmp_path: Path, cli: Callable[..., int]) -> None:
    base, cand = pair_files(tmp_path, [case("a")], [case("a", "error")])
    assert cli("compare", str(base.path), str(cand.path)) == 2


def test_an_unknown_gate_key_exits_2_with_a_sentence(
    tmp_path: Path, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = pair_files(tmp_path, [case("a")], [case("a")])
    gate = tmp_path / "gate.toml"
    gate.write_text("[gate]\nmax_cost = 2\n")
    assert cli("compare", str(base.path), str(cand.path), "--gate", str(gate)) == 2
    assert "unknown gate key 'max_cost'" in capsys.readouterr().err


def _reply(model: str, messages: list[dict[str, str]]) -> str:
    """The candidate forgets the refund window and the warranty; it learns shipping."""
    prompt = messages[-1]["content"]
    answers = {
        "refund": ("Refunds within 30 days.", "Refunds are at our discretion."),
        "warranty": ("The warranty lasts 2 years.", "Warranty: ask the shop."),
        "shipping": ("We ship somewhere.", "Shipping takes 3 days."),
        "hours": ("Open 9 to 5.", "We are open 9 to 5 on weekdays."),
    }
    for key, (before, after) in answers.items():
        if key in prompt:
            return after if model == "cand-model" else before
    return f"echo: {prompt}"


def test_end_to_end_two_runs_against_a_fake_provider_then_compare(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with FakeLLMServer(reply=_reply, retry_after=0) as server:
        aliases = "\n".join(
            f'[tool.llmtest.models.{alias}]\nadapter = "openai"\nmodel = "{model}"\n'
            f'base_url = "{server.url}"\n'
            for alias, model in (("baseline", "base-model"), ("candidate", "cand-model"))
        )
        (tmp_path / "pyproject.toml").write_text(
            textwrap.dedent("""
            [tool.llmtest]
            model = "baseline"

            [tool.llmtest.gate]
            block_on_tags = ["critical"]
            max_regressions = 0
            """)
            + aliases
        )
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_support.llm.yaml").write_text(
            textwrap.dedent("""
            cases:
              - id: refund
                prompt: "refund policy?"
                tags: [critical]
                assert: [{contains: "30 days"}]
              - {id: warranty, prompt: "warranty length?", assert: [{contains: "2 years"}]}
              - {id: shipping, prompt: "shipping time?", assert: [{contains: "3 days"}]}
              - {id: hours, prompt: "opening hours?", assert: [{contains: "9 to 5"}]}
            """)
        )
        run = ("run", "--progress", "none", "--no-history", "tests")
        assert cli(*run, "--out", "base.jsonl") == 1  # shipping fails on the baseline
        assert cli(*run, "--model", "candidate", "--out", "cand.jsonl") == 1
        capsys.readouterr()
    assert {c.model for c in load_results("cand.jsonl").cases} == {"candidate"}

    assert cli("compare", "base.jsonl", "cand.jsonl", "--json", "cmp.json") == 1
    out = capsys.readouterr().out
    assert "regression: tests/test_support.llm.yaml::refund" in out
    assert "regression: tests/test_support.llm.yaml::warranty" in out
    assert "fixes (1): shipping" in out
    data = json.loads(Path("cmp.json").read_text())
    assert sorted(r["case_id"] for r in data["regressions"]) == ["refund", "warranty"]
    assert [r["case_id"] for r in data["fixes"]] == ["shipping"]
    blocking = next(r for r in data["gate"]["rules"] if r["name"] == "block_on_tags")
    assert blocking["cases"] == ["refund"]
    # A run compared with itself has nothing to block.
    assert cli("compare", "base.jsonl", "base.jsonl") == 0
