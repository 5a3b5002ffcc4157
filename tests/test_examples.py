"""The examples a newcomer copies from are themselves run as tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=EXAMPLES / name,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_quickstart_on_the_local_model_passes_except_its_one_explained_failure() -> None:
    pytest.importorskip("xllamacpp", reason="the quickstart runs on the 'local' extra")
    result = run_example("quickstart", "--llm-cache", "off")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 8 passed" in result.stdout
    assert "FAILED test_quickstart.llm.yaml::largest-planet-expected-failure" in result.stdout
    assert "expected output to contain 'Jupiter'" in result.stdout


def test_support_bot_passes_except_its_one_explained_failure() -> None:
    result = run_example("support_bot")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 10 passed" in result.stdout
    assert "FAILED test_support.llm.yaml::weekend-hours-expected-failure" in result.stdout
    assert "expected output to contain 'Saturday'" in result.stdout


def test_canary_example_blocks_the_promotion_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmtest",
            "canary",
            ".",
            "--baseline",
            "current",
            "--candidate",
            "candidate",
            "--out",
            str(tmp_path / "runs"),
            "--no-history",
            "--progress",
            "none",
            "--markdown",
            str(tmp_path / "comparison.md"),
        ],
        cwd=EXAMPLES / "canary",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = (tmp_path / "comparison.md").read_text()
    assert "refund-window" in report and "weekend-hours" in report
    assert "block_on_tags" in report
