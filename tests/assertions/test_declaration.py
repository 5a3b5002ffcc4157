"""Declaring an assertion: one factory gives the case-file builder, the Python helpers, the
CSV reading of a bare number and what the score means, as it does for the built-ins."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest

from llmtest.adapters.base import Response
from llmtest.assertions import (
    FLAG,
    TEXT,
    WHOLE_NUMBER,
    AssertionResult,
    FolderArg,
    Judge,
    OneOf,
    Shorthand,
    Verdict,
    assertion,
    prepared_by,
)
from llmtest.assertions.base import BuildContext, mean_score
from llmtest.errors import AssertionSpecError, LLMAssertionError

HERE = BuildContext(Path("."))


@assertion(
    summary="the answer has at most that many words",
    measures="figure",
    shorthand=Shorthand("max", "a whole number (max words)", invalid="{form}"),
)
def words(
    max: Annotated[int, WHOLE_NUMBER],
    *,
    count: Annotated[str, OneOf(("all", "long"))] = "all",
    shout: Annotated[bool, FLAG] = False,
) -> Judge:
    """Words are runs of non-whitespace; ``count="long"`` counts those of four letters or more."""

    def check(response: Response) -> Verdict:
        found = [w for w in response.text.split() if count == "all" or len(w) >= 4]
        if len(found) <= max:
            return Verdict(True, len(found), f"{len(found)} words (at most {max})")
        message = f"{len(found)} words, expected at most {max}"
        return Verdict(False, len(found), message.upper() if shout else message)

    return check


def build(args: Any) -> Callable[[Response], AssertionResult]:
    return words.build(args, HERE)


def spec_error(args: Any) -> str:
    with pytest.raises(AssertionSpecError) as excinfo:
        build(args)
    return str(excinfo.value)


def test_a_declared_assertion_is_named_after_its_factory() -> None:
    assert (words.name, words.summary, words.measures) == (
        "words",
        "the answer has at most that many words",
        "figure",
    )


def test_the_case_file_may_write_the_shorthand_or_a_mapping_of_the_parameters() -> None:
    assert build(2)(Response("one two")) == AssertionResult("words", True, 2, "2 words (at most 2)")
    result = build({"max": 1, "count": "long", "shout": True})(Response("a long answer"))
    assert result == AssertionResult("words", False, 2, "2 WORDS, EXPECTED AT MOST 1")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("two", "expects a whole number (max words) or a mapping with 'max', got 'two'"),
        (
            {"count": "all"},
            "expects a whole number (max words) or a mapping with 'max', got {'count': 'all'}",
        ),
        ({"max": -1}, "expects 'max' to be a whole number of at least 0, got -1"),
        ({"max": 1, "count": "short"}, "expects 'count' to be one of 'all', 'long', got 'short'"),
        ({"max": 1, "shout": "yes"}, "expects 'shout' to be true or false, got 'yes'"),
        (
            {"max": 1, "shouts": True},
            "does not accept 'shouts'; did you mean 'shout'? (accepted: 'max', 'count', 'shout')",
        ),
    ],
)
def test_the_argument_is_checked_against_the_factorys_parameters(args: Any, reason: str) -> None:
    assert spec_error(args) == reason


def test_the_python_helpers_take_the_factorys_arguments_after_the_output() -> None:
    assert words.check("one two three", 2) == AssertionResult(
        "words", False, 3, "3 words, expected at most 2"
    )
    assert words.assert_(Response("one two"), max=2).passed
    with pytest.raises(LLMAssertionError, match=r"^3 WORDS, EXPECTED AT MOST 2$"):
        words.assert_("one two three", 2, shout=True)


def test_the_python_helpers_are_signed_like_the_factory() -> None:
    helper = words.assert_
    parameters = inspect.signature(helper).parameters
    assert helper.__name__ == "assert_words"
    assert list(parameters) == ["output", "max", "count", "shout"]
    assert parameters["output"].kind is inspect.Parameter.POSITIONAL_ONLY
    assert (parameters["count"].kind, parameters["count"].default) == (
        inspect.Parameter.KEYWORD_ONLY,
        "all",
    )
    assert helper.__doc__ is not None
    assert helper.__doc__.startswith(
        "Fails unless the answer has at most that many words, as ``words`` in a case file would."
    )


def test_a_number_shorthand_makes_the_argument_a_number() -> None:
    assert words.number_argument
    assert not text_is.number_argument


@assertion(summary="the answer is the text", shorthand=Shorthand("value", "a string"))
def text_is(value: Annotated[str, TEXT]) -> Judge:
    return lambda response: Verdict(response.text == value, None, f"wanted {value!r}")


def test_an_assertion_without_parameters_takes_true_null_or_an_empty_mapping() -> None:
    @assertion(summary="the answer is not empty")
    def answered() -> Judge:
        return lambda response: Verdict(bool(response.text), None, "answered")

    no_arguments: tuple[Any, ...] = (True, None, {})
    for args in no_arguments:
        assert answered.build(args, HERE)(Response("yes")).passed
    with pytest.raises(AssertionSpecError, match=r"^expects true, null or \{\} \(it takes no"):
        answered.build({"strict": True}, HERE)


def test_a_folder_parameter_receives_the_case_files_folder(tmp_path: Path) -> None:
    @assertion(
        summary="a file next to the case file is named", shorthand=Shorthand("name", "a name")
    )
    def next_to(name: Annotated[str, TEXT], *, base_dir: FolderArg = ".") -> Judge:
        exists = (Path(base_dir) / name).exists()
        return lambda response: Verdict(exists, None, f"{name} exists: {exists}")

    (tmp_path / "here.txt").write_text("")
    assert next_to.build("here.txt", BuildContext(tmp_path))(Response("")).passed
    assert not next_to.build("here.txt", HERE)(Response("")).passed
    with pytest.raises(AssertionSpecError, match=r"does not accept 'base_dir'"):
        next_to.build({"name": "here.txt", "base_dir": "/"}, HERE)


def test_assertions_that_take_the_same_arguments_share_their_preparation() -> None:
    def _word(word: Annotated[str, TEXT]) -> str:
        return word.casefold()

    @assertion(summary="the word is said", shorthand=Shorthand("word", "a word"))
    @prepared_by(_word)
    def says(word: str, response: Response) -> Verdict:
        return Verdict(word in response.text.casefold(), None, f"says {word!r}")

    @assertion(summary="the word is not said", shorthand=Shorthand("word", "a word"))
    @prepared_by(_word)
    def avoids(word: str, response: Response) -> Verdict:
        return Verdict(word not in response.text.casefold(), None, f"avoids {word!r}")

    assert (says.name, avoids.name) == ("says", "avoids")
    assert says.check("Hello there", "HELLO").passed
    assert not avoids.check("Hello there", "HELLO").passed
    assert says.build({"word": "there"}, HERE)(Response("there")).message == "says 'there'"


def test_a_factory_whose_parameters_a_case_file_cannot_name_is_refused() -> None:
    def anything(*values: str) -> Judge:
        return lambda response: Verdict(True, None, "ok")

    with pytest.raises(TypeError, match=r"parameter 'values' of its factory cannot be named"):
        assertion(summary="anything")(anything)


def test_a_shorthand_must_name_a_parameter() -> None:
    def nothing(value: str) -> Judge:
        return lambda response: Verdict(True, None, "ok")

    with pytest.raises(TypeError, match=r"^assertion 'nothing': its factory has no parameter 'v'$"):
        assertion(summary="nothing", shorthand=Shorthand("v", "a value"))(nothing)


def test_a_case_score_leaves_out_the_figures_of_budgets() -> None:
    assert mean_score([("contains", 0.5), ("length", 200.0), ("similarity", 1.0)]) == 0.75
    assert mean_score([("latency_ms", 812.0)]) is None


def test_a_type_no_plugin_declares_counts_as_a_share() -> None:
    assert mean_score([("from_elsewhere", 0.2), ("contains", 1.0)]) == pytest.approx(0.6)
