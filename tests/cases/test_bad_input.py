"""Every bad case file gets one line naming the file, the line, the case and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmtest.cases import load_suite
from llmtest.errors import CaseFileError


def load_error(tmp_path: Path, text: str, name: str = "test_bad.llm.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(path, name)
    return str(excinfo.value)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: a
            prompt: "unterminated
          - id: b
    """,
    )
    # The parser gives up at the end of the file; the quote was opened on line 3.
    assert message == (
        "test_bad.llm.yaml:3: invalid YAML: while scanning a quoted scalar (line 3): "
        "found unexpected end of stream"
    )


def test_malformed_yaml_inside_the_file_names_where_it_went_wrong(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: a
            prompt: hi
           bad: indent
    """,
    )
    assert message == (
        "test_bad.llm.yaml:4: invalid YAML: while parsing a block collection (line 2): "
        "did not find expected '-' indicator"
    )


def test_unknown_assertion_name_suggests_the_closest(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: refund-window
            prompt: hi
            assert:
              - containz: ["30 days"]
    """,
    )
    assert message.startswith(
        "test_bad.llm.yaml:5: case 'refund-window': unknown assertion 'containz'; "
        "did you mean 'contains'?"
    )


def test_wrong_argument_type(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: refund-window
            prompt: How long do I have to return an item?
            assert:
              - contains: 5
    """,
    )
    assert message.startswith("test_bad.llm.yaml:5: case 'refund-window': assertion 'contains' ")
    assert "got 5" in message


def test_invalid_regex(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: r
            prompt: hi
            assert:
              - regex: "(unclosed"
    """,
    )
    assert message.startswith("test_bad.llm.yaml:5: case 'r': assertion 'regex' ")
    assert "(unclosed" in message


def test_invalid_json_schema(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: order
            prompt: hi
            assert:
              - json_schema: {type: 12}
    """,
    )
    assert message.startswith("test_bad.llm.yaml:5: case 'order': assertion 'json_schema' ")


def test_missing_prompt(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: empty
            assert:
              - contains: ["x"]
    """,
    )
    assert message == (
        "test_bad.llm.yaml:2: case 'empty': field 'prompt': "
        "missing prompt: give 'prompt' (or 'messages', or seed-style 'input')"
    )


def test_duplicate_case_ids(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: same
            prompt: one
          - id: same
            prompt: two
    """,
    )
    assert message == (
        "test_bad.llm.yaml:4: case 'same': field 'id': duplicate case id (first defined at line 2)"
    )


def test_missing_include(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        include:
          - other.llm.yaml
        cases: []
    """,
    )
    assert message.startswith(
        "test_bad.llm.yaml:2: field 'include[0]': cannot include 'other.llm.yaml': no such file"
    )


def test_unknown_builtin_library_lists_the_available_ones(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        include: ["llmtest:adversarial/nope"]
        cases: []
    """,
    )
    assert "no built-in library of that name" in message
    assert "llmtest:adversarial/prompt-injection" in message


def test_unknown_variable(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        vars: {name: Ann}
        cases:
          - id: greet
            prompt: "Say hello to {{nmae}}"
    """,
    )
    assert message == (
        "test_bad.llm.yaml:4: case 'greet': field 'prompt': "
        "unknown variable '{{nmae}}' (vars: name, system)"
    )


def test_unknown_field_suggests_the_closest(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: typo
            promt: hi
    """,
    )
    assert message == (
        "test_bad.llm.yaml:3: case 'typo': field 'promt': unknown field 'promt'; "
        "did you mean 'prompt'?"
    )


def test_wrong_type_of_a_case_field(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: tagged
            prompt: hi
            tags: critical
    """,
    )
    assert message == (
        "test_bad.llm.yaml:4: case 'tagged': field 'tags': expected a list, got 'critical'"
    )


def test_assertion_written_as_a_mapping_of_two(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: two
            prompt: hi
            assert:
              - {contains: a, regex: b}
    """,
    )
    assert message.startswith("test_bad.llm.yaml:5: case 'two': field 'assert[0]': each assertion")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: a
            prompt: one
            prompt: two
    """,
    )
    assert message == "test_bad.llm.yaml:4: duplicate key 'prompt' (first at line 3)"


def test_jsonl_bad_json_names_the_line(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, '{"input": "ok"}\n{"input": "broken",}\n', name="test_lib.llm.jsonl"
    )
    assert message.startswith("test_lib.llm.jsonl:2: invalid JSON: ")


def test_jsonl_wrong_type_names_line_case_and_field(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        '{"id": "a", "input": "ok"}\n{"id": "b", "input": "x", "expected_contains": 5}\n',
        name="test_lib.llm.jsonl",
    )
    assert message == (
        "test_lib.llm.jsonl:2: case 'b': field 'expected_contains': "
        "expected a string or a list, got 5"
    )


def test_csv_unknown_assertion_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, "id,prompt,containz\na,hello,x\n", name="test_lib.llm.csv")
    assert message.startswith("test_lib.llm.csv:2: case 'a': unknown assertion 'containz'")


def test_csv_cell_meant_as_json_that_is_not_json(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, 'id,prompt,contains\na,hi,"[""Paris"", ""Lyon"",]"\n', name="test_lib.llm.csv"
    )
    assert message.startswith(
        "test_lib.llm.csv:2: case 'a': field 'contains': the cell '[\"Paris\", \"Lyon\",]' is not "
        "valid JSON"
    )


def test_prompt_and_messages_together(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: both
            prompt: hello
            messages: [{role: user, content: hi}]
    """,
    )
    assert message == (
        "test_bad.llm.yaml:4: case 'both': field 'messages': give one of 'prompt', 'input' or "
        "'messages', not prompt and messages"
    )


def test_csv_number_column_that_is_not_a_number(tmp_path: Path) -> None:
    message = load_error(tmp_path, "id,prompt,repeat\na,hi,three\n", name="test_lib.llm.csv")
    assert message == "test_lib.llm.csv:2: case 'a': field 'repeat': expected a number, got 'three'"


def test_csv_with_semicolons_says_so(tmp_path: Path) -> None:
    message = load_error(tmp_path, "id;prompt;contains\na;hi;x\n", name="test_lib.llm.csv")
    assert message == (
        "test_lib.llm.csv:1: the header row 'id;prompt;contains' is one column: case files are "
        "comma-separated and this one seems to use semicolons"
    )


def test_the_same_include_twice(tmp_path: Path) -> None:
    (tmp_path / "shared.llm.yaml").write_text("cases: [{id: g, prompt: hi}]\n")
    message = load_error(
        tmp_path,
        """
        include:
          - shared.llm.yaml
          - ./shared.llm.yaml
        cases: []
    """,
    )
    assert message == (
        "test_bad.llm.yaml:3: field 'include[1]': include './shared.llm.yaml' is already "
        "included (line 2)"
    )


def test_include_cycle(tmp_path: Path) -> None:
    (tmp_path / "b.llm.yaml").write_text("include: [test_bad.llm.yaml]\ncases: []\n")
    message = load_error(
        tmp_path,
        """
        include: [b.llm.yaml]
        cases: []
    """,
    )
    assert "includes itself (a cycle)" in message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_a_non_finite_number_in_yaml_is_refused_naming_line_case_and_field(
    tmp_path: Path, value: str
) -> None:
    text = f"cases:\n  - id: a\n    prompt: hi\n    repeat: 3\n    min_pass_rate: {value}\n"
    message = load_error(tmp_path, text)
    assert message == (
        f"test_bad.llm.yaml:5: case 'a': field 'min_pass_rate': expected a finite number, "
        f"got {value}"
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_in_jsonl_is_refused_naming_line_case_and_field(
    tmp_path: Path, value: str
) -> None:
    text = '{"id": "ok", "prompt": "hi"}\n{"id": "b", "prompt": "hi", "min_pass_rate": '
    message = load_error(tmp_path, text + value + "}\n", "test_bad.llm.jsonl")
    assert message == (
        f"test_bad.llm.jsonl:2: case 'b': field 'min_pass_rate': expected a finite number, "
        f"got {value}"
    )


def test_a_non_finite_number_in_csv_names_the_case_and_field(tmp_path: Path) -> None:
    message = load_error(tmp_path, "id,prompt,min_pass_rate\nx,hi,nan\n", "test_bad.llm.csv")
    assert message == (
        "test_bad.llm.csv:2: case 'x': field 'min_pass_rate': expected a finite number, got 'nan'"
    )


def test_a_jsonl_line_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    text = '{"id": "a", "prompt": "hi", "vars": {"x": ' + deep + "}}\n"
    message = load_error(tmp_path, text, "test_bad.llm.jsonl")
    assert message == "test_bad.llm.jsonl:1: the line nests too deeply"


def test_a_top_level_table_that_is_no_setting_hints_at_the_home_for_anchors(
    tmp_path: Path,
) -> None:
    message = load_error(
        tmp_path,
        """
        base: &base {prompt: hi}
        cases:
          - {<<: *base, id: a}
        """,
    )
    assert message == (
        "test_bad.llm.yaml:1: field 'base': unknown field 'base'; did you mean 'cases'? "
        "(a top-level key that holds YAML anchors must start with 'x-')"
    )


def test_anchors_kept_under_an_x_key_are_merged_and_overridden(tmp_path: Path) -> None:
    path = tmp_path / "test_ok.llm.yaml"
    path.write_text(
        textwrap.dedent("""
        x-base: &base {prompt: hi, tags: [shared], assert: [{contains: hi}]}
        cases:
          - {<<: *base, id: b1}
          - {<<: *base, id: b2, prompt: hi there}
        """),
        encoding="utf-8",
    )
    cases = load_suite(path).cases
    assert [(c.id, c.prompt, c.tags) for c in cases] == [
        ("b1", "hi", ("shared",)),
        ("b2", "hi there", ("shared",)),
    ]


def test_a_non_finite_number_deep_in_an_assertion_names_its_assertion(tmp_path: Path) -> None:
    text = (
        "cases:\n  - id: a\n    prompt: hi\n    assert:\n      - contains: hi\n"
        "      - similarity: {value: hi, min: .inf}\n"
    )
    assert load_error(tmp_path, text) == (
        "test_bad.llm.yaml:6: case 'a': field 'assert[1]': expected a finite number, got .inf"
    )
