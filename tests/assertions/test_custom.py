"""python: a check function of the user's, named as module:function in the case file."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Response
from llmtest.assertions import assert_python, load_function
from llmtest.assertions.base import AssertionResult
from llmtest.errors import LLMAssertionError
from tests.assertions.helpers import run, spec_error

CHECKS = """
from llmtest.assertions.base import AssertionResult

def polite(output, context):
    return "please" in output

def tone(output, context):
    return 0.7 if "thanks" in output else 0.2

def verdict(output, context):
    return {"pass": output.isupper(), "score": 0.25, "reason": "wants shouting"}

def echo_context(output, context):
    return {"pass": False, "reason": f"{context['config']} {context['response'].model}"}

def result(output, context):
    return AssertionResult("mine", False, 0.1, "custom message")

def only_output(output):
    return output == "hi"

def boom(output, context):
    raise ValueError("cannot parse " + output)

def nothing(output, context):
    return None

def too_high(output, context):
    return 7

def typo(output, context):
    return {"passed": True}

def three(output, context, extra):
    return True

NOT_A_FUNCTION = 42
"""


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    (tmp_path / "checks.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    return tmp_path


def test_a_module_next_to_the_case_file_is_found(base_dir: Path) -> None:
    result = run("python", "checks:polite", "Yes, please.", base_dir)
    assert (result.type, result.passed, result.message) == (
        "python",
        True,
        "python check 'checks:polite' passed",
    )


def test_false_fails_and_shows_the_output(base_dir: Path) -> None:
    result = run("python", "checks:polite", "No.", base_dir)
    assert result.message == "python check 'checks:polite' returned False; got: 'No.'"


def test_a_score_passes_at_the_default_threshold(base_dir: Path) -> None:
    result = run("python", "checks:tone", "thanks!", base_dir)
    assert (result.passed, result.score, result.message) == (
        True,
        0.7,
        "python check 'checks:tone' scored 0.7 (threshold 0.5)",
    )


def test_the_threshold_comes_from_config(base_dir: Path) -> None:
    args = {"function": "checks:tone", "config": {"threshold": 0.9}}
    result = run("python", args, "thanks!", base_dir)
    assert result.message == (
        "python check 'checks:tone' scored 0.7, below the threshold 0.9; got: 'thanks!'"
    )


def test_a_dict_gives_the_verdict_score_and_reason(base_dir: Path) -> None:
    result = run("python", "checks:verdict", "quiet", base_dir)
    assert (result.passed, result.score, result.message) == (
        False,
        0.25,
        "python check 'checks:verdict' failed: wants shouting; got: 'quiet'",
    )


def test_the_context_carries_the_response_and_config(base_dir: Path) -> None:
    args = {"function": "checks:echo_context", "config": {"lang": "fr"}}
    result = run("python", args, Response("x", model="m-1"), base_dir)
    assert (
        result.message == "python check 'checks:echo_context' failed: {'lang': 'fr'} m-1; got: 'x'"
    )


def test_an_assertion_result_is_kept_under_the_python_type(base_dir: Path) -> None:
    result = run("python", "checks:result", "x", base_dir)
    assert result == AssertionResult("python", False, 0.1, "custom message")


def test_a_one_argument_function_gets_only_the_output(base_dir: Path) -> None:
    assert run("python", "checks:only_output", "hi", base_dir).passed


def test_an_importable_module_comes_first() -> None:
    assert run("python", "operator:truth", "anything").passed
    assert not run("python", "operator:truth", "").passed


def test_a_dotted_module_is_found_in_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "suite_checks").mkdir()
    (tmp_path / "suite_checks" / "rules.py").write_text(
        "def short(output):\n    return len(output) < 5\n", encoding="utf-8"
    )
    assert run("python", "suite_checks.rules:short", "ok", tmp_path).passed


def test_a_module_file_is_loaded_once(base_dir: Path) -> None:
    assert load_function("checks:polite", base_dir) is load_function("checks:polite", base_dir)


def test_same_named_modules_in_two_folders_stay_apart(tmp_path: Path) -> None:
    for name, verdict in (("a", "True"), ("b", "False")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "checks.py").write_text(
            f"def check(output):\n    return {verdict}\n", encoding="utf-8"
        )
    assert run("python", "checks:check", "x", tmp_path / "a").passed
    assert not run("python", "checks:check", "x", tmp_path / "b").passed


def test_an_exception_in_the_check_is_a_failure_naming_it(base_dir: Path) -> None:
    result = run("python", "checks:boom", "<html>", base_dir)
    assert (result.passed, result.message) == (
        False,
        "python check 'checks:boom' raised ValueError: cannot parse <html>",
    )


@pytest.mark.parametrize(
    ("function", "returned"),
    [("checks:nothing", "None"), ("checks:too_high", "7"), ("checks:typo", "{'passed': True}")],
)
def test_other_return_values_fail_explaining_what_is_accepted(
    base_dir: Path, function: str, returned: str
) -> None:
    result = run("python", function, "x", base_dir)
    assert result.message == (
        f"python check {function!r} returned {returned}; it must return a bool, "
        "a score between 0 and 1, an AssertionResult or a dict "
        "{'pass': bool, 'score': float, 'reason': str}"
    )


def test_an_unknown_module_is_a_spec_error(tmp_path: Path) -> None:
    assert spec_error("python", "nowhere_to_be_found:check", tmp_path) == (
        "cannot import 'nowhere_to_be_found': no such module, "
        f"and no file {tmp_path / 'nowhere_to_be_found.py'}"
    )


def test_a_module_that_fails_to_import_is_a_spec_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("1 / 0\n", encoding="utf-8")
    assert spec_error("python", "broken:check", tmp_path) == (
        "cannot import 'broken': ZeroDivisionError: division by zero"
    )


def test_a_missing_dependency_of_the_module_is_named(tmp_path: Path) -> None:
    (tmp_path / "needs.py").write_text("import not_installed_xyz\n", encoding="utf-8")
    assert spec_error("python", "needs:check", tmp_path) == (
        "cannot import 'needs': ModuleNotFoundError: No module named 'not_installed_xyz'"
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("checks:missing", "cannot find function 'missing' in module 'checks'"),
        ("checks:NOT_A_FUNCTION", "cannot call 'checks:NOT_A_FUNCTION': it is 42, not a function"),
        (
            "checks:three",
            "cannot call 'checks:three': it must accept (output) or (output, context), "
            "but its signature is (output, context, extra)",
        ),
        ("checks", "expects 'module:function', got 'checks'"),
        (5, "expects 'module:function' or a mapping with 'function', got 5"),
        ({"function": 5}, "expects 'function' to be 'module:function', got 5"),
        ({"function": "checks:polite", "config": [1]}, "expects 'config' to be a mapping, got [1]"),
        (
            {"function": "checks:tone", "config": {"threshold": 2}},
            "expects 'config.threshold' to be a number between 0 and 1, got 2",
        ),
    ],
)
def test_python_rejects_bad_arguments(base_dir: Path, args: Any, reason: str) -> None:
    assert spec_error("python", args, base_dir) == reason


def is_short(output: str) -> bool:
    return len(output) < 5


def test_assert_python_takes_a_function_and_raises_its_verdict() -> None:
    assert assert_python("ok", is_short).passed
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_python("far too long", is_short)
    assert str(excinfo.value) == (
        f"python check '{__name__}:is_short' returned False; got: 'far too long'"
    )


def test_assert_python_takes_a_name_relative_to_base_dir(base_dir: Path) -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_python("quiet", "checks:verdict", base_dir=base_dir)
    assert str(excinfo.value) == run("python", "checks:verdict", "quiet", base_dir).message
