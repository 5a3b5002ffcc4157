"""Third-party packages add adapters and assertions through entry points, like built-ins.

The example plugin declares one assertion with ``@assertion`` and writes another by hand as
an ``AssertionType``: both forms are accepted."""

from __future__ import annotations

import textwrap

import pytest

PLUGIN = """
from typing import Annotated

from llmtest import Response, hookimpl
from llmtest.assertions import WHOLE_NUMBER, AssertionResult, AssertionType, Shorthand, Verdict
from llmtest.assertions import assertion


class ShoutAdapter:
    name = "shout"

    def __init__(self, config):
        self.config = config

    async def complete(self, request):
        return Response(text=request.prompt.upper(), model="shout")

    async def aclose(self):
        return None


@assertion(
    summary="at most that many letters are lower case",
    measures="figure",
    shorthand=Shorthand("max", "a whole number"),
)
def quiet_letters(max: Annotated[int, WHOLE_NUMBER]):
    def check(response):
        lower = sum(c.islower() for c in response.text)
        return Verdict(lower <= max, lower, f"{lower} lower-case letters (at most {max})")
    return check


assert_quiet_letters = quiet_letters.assert_


def _build_is_upper(args, ctx):
    def check(response):
        ok = response.text.isupper()
        return AssertionResult("is_upper", ok, None, "ok" if ok else "not upper case")
    return check


@hookimpl
def llmtest_adapters():
    return {"shout": ShoutAdapter}


@hookimpl
def llmtest_assertions():
    return [quiet_letters, AssertionType("is_upper", _build_is_upper)]
"""


@pytest.fixture
def installed_plugin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real distribution on sys.path with entry points, as `pip install` would leave it."""
    site = pytester.mkdir("site")
    (site / "llmtest_shout.py").write_text(PLUGIN)
    dist = site / "llmtest_shout-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llmtest-shout\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[llmtest.adapters]\nshout = llmtest_shout\n")
    monkeypatch.setenv("PYTHONPATH", str(site))


def test_an_entry_point_plugin_adds_an_adapter_and_assertions(
    pytester: pytest.Pytester, installed_plugin: None
) -> None:
    pytester.makefile(
        ".llm.yaml",
        test_shout=textwrap.dedent("""
        model: "shout:"
        cases:
          - {id: loud, prompt: hello, assert: [{equals: HELLO}, {is_upper: true}]}
          - {id: quiet, prompt: hello, assert: [{quiet_letters: {max: 0}}]}
    """),
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_a_declared_assertion_reads_a_csv_number_and_has_a_python_helper(
    pytester: pytest.Pytester, installed_plugin: None
) -> None:
    pytester.makefile(".llm.csv", test_table="id,prompt,quiet_letters\nloud,hello,0\n")
    pytester.makepyfile(
        test_helper=r"""
        import pytest
        from llmtest.errors import LLMAssertionError
        from llmtest_shout import assert_quiet_letters


        def test_the_helper_raises_the_case_file_message():
            with pytest.raises(LLMAssertionError, match=r"^4 lower-case letters \(at most 1\)$"):
                assert_quiet_letters("Hello", 1)
        """
    )
    result = pytester.runpytest_subprocess("--llm-model", "shout:")
    result.assert_outcomes(passed=2)


def test_a_plugin_that_returns_no_assertion_type_is_named(
    pytester: pytest.Pytester, installed_plugin: None
) -> None:
    plugin = pytester.path / "site" / "llmtest_shout.py"
    plugin.write_text(
        plugin.read_text().replace("return [quiet_letters,", "return [quiet_letters.factory,")
    )
    pytester.makefile(".llm.yaml", test_shout="model: 'shout:'\ncases: [{id: a, prompt: hi}]")
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*llmtest plugin module 'llmtest_shout': llmtest_assertions() returned <function*"]
    )


def test_an_unknown_adapter_names_the_installed_ones(pytester: pytest.Pytester) -> None:
    pytester.makefile(".llm.yaml", test_a="model: 'nope:x'\ncases: [{id: a, prompt: hi}]")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "test_a.llm.yaml:1: field 'model': unknown adapter 'nope'; "
            "installed adapters: *echo*openai*"
        ]
    )


def test_a_misspelled_hook_is_an_error_naming_it(
    pytester: pytest.Pytester, installed_plugin: None
) -> None:
    site = pytester.path / "site"
    plugin = site / "llmtest_shout.py"
    plugin.write_text(plugin.read_text().replace("def llmtest_adapters", "def llmtest_adaptors"))
    pytester.makefile(".llm.yaml", test_shout="model: 'echo:'\ncases: [{id: a, prompt: hi}]")
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*llmtest plugin 'shout'*unknown hook 'llmtest_adaptors'*"])
