"""The example GitHub Actions workflow's shell steps, run here against a local provider."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from tests.support.llm_server import FakeLLMServer

WORKFLOW = Path(__file__).resolve().parent.parent / "examples" / "ci" / "llm-canary.yml"


def reply(model: str, messages: list[dict[str, str]]) -> str:
    if "refund" in messages[-1]["content"]:
        return "30 days" if model == "prod" else "no idea"
    return "Paris"


def test_the_workflow_posts_a_report_and_fails_on_a_blocked_promotion(tmp_path: Path) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["canary"]["steps"]}
    canary = steps["Run the suite on both models and apply the gate"]["run"]
    summary = steps["Job summary"]["run"]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bot.llm.yaml").write_text(
        textwrap.dedent("""
        cases:
          - {id: refund, prompt: "refund?", tags: [critical], assert: [{contains: "30 days"}]}
          - {id: capital, prompt: "capital?", assert: [{contains: Paris}]}
    """)
    )
    bin_dir = Path(sys.executable).parent
    with FakeLLMServer(reply=reply) as server:
        (tmp_path / "pyproject.toml").write_text(
            textwrap.dedent(f"""
            [tool.llmtest.models.support-bot]
            adapter = "openai"
            model = "prod"
            base_url = "{server.url}"

            [tool.llmtest.models.support-bot-next]
            adapter = "openai"
            model = "next"
            base_url = "{server.url}"

            [tool.llmtest.gate]
            block_on_tags = ["critical"]
        """)
        )
        env = {
            **os.environ,
            **workflow["env"],
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
        result = subprocess.run(
            ["bash", "-c", canary],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        subprocess.run(["bash", "-c", summary], cwd=tmp_path, env=env, check=True)
    assert "refund" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "runs" / "comparison.html").exists()
    assert (tmp_path / "runs" / "comparison.xml").exists()
