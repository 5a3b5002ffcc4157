"""The p50/p95 latency of one run reads the same in the terminal of both front ends and in
every report: all of them take llmtest.results.figures.percentile over every attempt."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmtest.reports.format import format_ms

APP = """
import time

def answer(prompt):
    time.sleep(int(prompt) / 1000)
    return "ok"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text('[tool.llmtest]\nmodel = "callable:app:answer"\n')
    cases = "\n".join(f"  - {{id: c{ms}, prompt: '{ms}'}}" for ms in (5, 15, 40, 80))
    (tmp_path / "test_a.llm.yaml").write_text(f"cases:\n{cases}\n")
    return tmp_path


def _terminal_figures(output: str) -> tuple[str, str]:
    found = re.search(r"latency p50 ([\d.]+ m?s), p95 ([\d.]+ m?s)", output)
    assert found, output
    return found.group(1), found.group(2)


def _report_figures(project: Path, results: str) -> tuple[str, str]:
    command = [sys.executable, "-m", "llmtest", "report", results]
    reports = ["--json", "r.json", "--markdown", "r.md", "--html", "r.html"]
    subprocess.run([*command, *reports], cwd=project, check=True, timeout=60)
    latency = json.loads((project / "r.json").read_text())["latency"]
    p50, p95 = format_ms(latency["p50_ms"]), format_ms(latency["p95_ms"])
    markdown = (project / "r.md").read_text().splitlines()
    assert any(line.startswith("| ") and line.endswith(f" | {p95} |") for line in markdown)
    assert any(line.startswith(f"| {p50} | ") for line in markdown)
    html = (project / "r.html").read_text()
    assert re.search(rf"p50 latency.*?{p50}", html, re.S)
    assert re.search(rf"p95 latency.*?{p95}", html, re.S)
    return p50, p95


@pytest.mark.parametrize("front_end", ["llmtest run", "pytest"])
def test_the_terminal_and_every_report_give_the_same_p50_and_p95(
    project: Path, front_end: str
) -> None:
    if front_end == "pytest":
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--llm-results"]
    else:
        command = [sys.executable, "-m", "llmtest", "run", "--progress", "none", "--out"]
    done = subprocess.run(
        [*command, "r.jsonl"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _terminal_figures(done.stdout) == _report_figures(project, "r.jsonl")
