"""The planner: each case's model, and a model that does not resolve blamed where it was
written (the command line, the suite, the case, the project default)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmtest.cases import load_suite
from llmtest.config.project import ProjectConfig
from llmtest.engine.plan import Planner
from llmtest.engine.settings import ModelChoice, RunSettings
from llmtest.errors import ConfigError

SUITE = """
    model: "{suite}"
    cases:
      - id: plain
        prompt: hi
      - id: own
        prompt: hi
        model: "{case}"
"""


def plan_error(
    tmp_path: Path,
    *,
    suite: str = "echo:",
    case: str = "echo:",
    flag: str | None = None,
    default: str | None = None,
) -> str:
    path = tmp_path / "test_s.llm.yaml"
    text = textwrap.dedent(SUITE.format(suite=suite, case=case)).lstrip("\n")
    if suite == "-":
        text = text.replace('model: "-"\n', "")
    path.write_text(text, encoding="utf-8")
    settings = RunSettings(tmp_path, model=flag)
    models = ModelChoice(ProjectConfig(default_model=default), settings)
    with pytest.raises(ConfigError) as excinfo:
        Planner(models).plan([load_suite(path, "test_s.llm.yaml")])
    return str(excinfo.value).split(": unknown model")[0]


def test_a_command_line_model_is_blamed_on_the_flag(tmp_path: Path) -> None:
    assert plan_error(tmp_path, flag="nwe") == "--model"


def test_a_suite_model_is_blamed_on_the_suites_model_line(tmp_path: Path) -> None:
    assert plan_error(tmp_path, suite="nwe") == "test_s.llm.yaml:1: field 'model'"


def test_a_case_model_is_blamed_on_the_case(tmp_path: Path) -> None:
    assert plan_error(tmp_path, case="nwe") == "test_s.llm.yaml:5: case 'own': field 'model'"


def test_the_project_default_is_blamed_on_its_setting(tmp_path: Path) -> None:
    assert plan_error(tmp_path, suite="-", default="nwe") == "[tool.llmtest] model"
