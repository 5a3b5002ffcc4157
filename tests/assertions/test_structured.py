"""JSON answers: is_json, json_schema, and the JSON extraction both of them share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmtest.assertions import (
    assert_is_json,
    assert_json_schema,
    check_json_schema,
    compile_schema,
    extract_json,
)
from llmtest.errors import LLMAssertionError, UndecidedAssertion
from tests.assertions.helpers import run, spec_error

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_extract_json_reads_a_whole_json_output() -> None:
    assert extract_json(' {"a": [1, 2]}\n') == (True, {"a": [1, 2]}, "")


def test_extract_json_finds_a_fenced_json_block_among_prose() -> None:
    text = 'Here is the order:\n```json\n{"apples": 2}\n```\nAnything else?'
    assert extract_json(text) == (True, {"apples": 2}, "")


def test_extract_json_accepts_a_bare_fence_but_prefers_a_json_one() -> None:
    assert extract_json("```\n[1]\n```").value == [1]
    assert extract_json("```\n[1]\n```\n```json\n[2]\n```").value == [2]


def test_extract_json_ignores_blocks_in_other_languages() -> None:
    ok, _, error = extract_json('```python\n{"a": 1}\n```')
    assert not ok
    assert error == (
        "output is not JSON (Expecting value: line 1 column 1 (char 0)) "
        "and has no ```json code block"
    )


def test_extract_json_reports_a_broken_json_block() -> None:
    assert extract_json('Sure:\n```json\n{"a": 1,}\n```') == (
        False,
        None,
        "the ```json code block in the output is not JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 9 (char 8))",
    )


def test_is_json_passes_for_json_output() -> None:
    result = run("is_json", True, '{"ok": true}')
    assert (result.passed, result.message) == (True, "output is JSON")


def test_is_json_failure_says_why_and_shows_the_output() -> None:
    result = run("is_json", None, "Sure! Here is your order.")
    assert result.message == (
        "output is not JSON (Expecting value: line 1 column 1 (char 0)) "
        "and has no ```json code block; got: 'Sure! Here is your order.'"
    )


@pytest.mark.parametrize("args", [True, None, {}])
def test_is_json_takes_no_arguments(args: object) -> None:
    assert run("is_json", args, "[]").passed


@pytest.mark.parametrize("args", [False, "yes", 1, {"strict": True}])
def test_is_json_rejects_arguments(args: object) -> None:
    assert spec_error("is_json", args) == (
        f"expects true, null or {{}} (it takes no arguments), got {args!r}"
    )


def test_assert_is_json_raises_the_case_file_message() -> None:
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_is_json("nope")
    assert str(excinfo.value) == run("is_json", True, "nope").message


def test_json_schema_passes_for_matching_json() -> None:
    result = run("json_schema", PERSON, '```json\n{"name": "Ada", "age": 36}\n```')
    assert (result.passed, result.message) == (True, "output matches the schema")


def test_json_schema_lists_errors_with_their_json_path() -> None:
    result = run("json_schema", PERSON, '{"age": "thirty"}')
    assert result.message == (
        "output does not match the schema: $.age: 'thirty' is not of type 'integer'; "
        "$: 'name' is a required property"
    )


def test_json_schema_shows_the_first_three_errors_and_counts_the_rest() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    result = run("json_schema", schema, '["a", "b", "c", "d", "e"]')
    assert result.message == (
        "output does not match the schema: $[0]: 'a' is not of type 'integer'; "
        "$[1]: 'b' is not of type 'integer'; $[2]: 'c' is not of type 'integer' (and 2 more)"
    )


def test_json_schema_says_when_the_output_is_not_json() -> None:
    result = run("json_schema", PERSON, "Ada, 36")
    assert result.message == (
        "output is not JSON (Expecting value: line 1 column 1 (char 0)) "
        "and has no ```json code block; got: 'Ada, 36'"
    )


def test_json_schema_loads_a_schema_file_relative_to_the_case_file(tmp_path: Path) -> None:
    write(tmp_path / "schemas" / "person.json", json.dumps(PERSON))
    args = {"$ref": "schemas/person.json"}
    assert run("json_schema", args, '{"name": "Ada"}', tmp_path).passed
    assert not run("json_schema", args, '{"age": 3}', tmp_path).passed


def test_refs_inside_a_schema_file_resolve_relative_to_that_file(tmp_path: Path) -> None:
    write(
        tmp_path / "schemas" / "order.yaml",
        "type: object\nproperties:\n  items: {type: array, items: {$ref: 'parts/item.json'}}\n",
    )
    write(
        tmp_path / "schemas" / "parts" / "item.json",
        json.dumps(
            {"properties": {"qty": {"$ref": "#/$defs/qty"}}, "$defs": {"qty": {"minimum": 1}}}
        ),
    )
    result = run("json_schema", {"$ref": "schemas/order.yaml"}, '{"items": [{"qty": 0}]}', tmp_path)
    assert result.message == (
        "output does not match the schema: $.items[0].qty: 0 is less than the minimum of 1"
    )


def test_a_ref_may_point_into_a_schema_file(tmp_path: Path) -> None:
    write(tmp_path / "defs.json", json.dumps({"$defs": {"id": {"type": "integer"}}}))
    assert run("json_schema", {"$ref": "defs.json#/$defs/id"}, "7", tmp_path).passed
    assert not run("json_schema", {"$ref": "defs.json#/$defs/id"}, '"7"', tmp_path).passed


def test_a_missing_schema_file_is_a_spec_error(tmp_path: Path) -> None:
    assert spec_error("json_schema", {"$ref": "schemas/order.json"}, tmp_path) == (
        f"cannot load $ref 'schemas/order.json': no such file {tmp_path / 'schemas/order.json'}"
    )


def test_a_missing_nested_schema_file_is_a_spec_error(tmp_path: Path) -> None:
    write(tmp_path / "a.json", json.dumps({"$ref": "b.json"}))
    assert spec_error("json_schema", {"$ref": "a.json"}, tmp_path) == (
        f"cannot load $ref 'b.json': no such file {tmp_path / 'b.json'}"
    )


def test_an_unparsable_schema_file_is_a_spec_error(tmp_path: Path) -> None:
    write(tmp_path / "order.json", "{oops")
    assert spec_error("json_schema", {"$ref": "order.json"}, tmp_path) == (
        f"cannot load $ref 'order.json': cannot parse {tmp_path / 'order.json'}: "
        "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"
    )


def test_an_invalid_schema_file_is_a_spec_error(tmp_path: Path) -> None:
    write(tmp_path / "order.yaml", "type: 12\n")
    assert spec_error("json_schema", {"$ref": "order.yaml"}, tmp_path) == (
        f"cannot load $ref 'order.yaml': {tmp_path / 'order.yaml'} is not a valid JSON Schema "
        "(Draft 2020-12); $.type: 12 is not valid under any of the given schemas"
    )


def test_an_invalid_inline_schema_is_a_spec_error() -> None:
    assert spec_error("json_schema", {"type": 12}) == (
        "expects a valid JSON Schema (Draft 2020-12); "
        "$.type: 12 is not valid under any of the given schemas"
    )


def test_a_pointer_to_nowhere_is_a_spec_error(tmp_path: Path) -> None:
    write(tmp_path / "defs.json", "{}")
    assert spec_error("json_schema", {"$ref": "defs.json#/$defs/missing"}, tmp_path) == (
        "cannot resolve $ref 'defs.json#/$defs/missing': that location does not exist in the schema"
    )


def test_schemas_are_never_fetched_from_the_network() -> None:
    assert spec_error("json_schema", {"$ref": "https://example.com/order.json"}) == (
        "cannot resolve $ref 'https://example.com/order.json': it is not a local file, "
        "and schemas are never fetched from the network"
    )


def test_the_bundled_meta_schemas_resolve_offline() -> None:
    schema = {"$ref": "https://json-schema.org/draft/2020-12/schema"}
    assert run("json_schema", schema, '{"type": "string"}').passed
    assert not run("json_schema", schema, '{"type": 12}').passed


def test_json_schema_wants_a_mapping() -> None:
    assert spec_error("json_schema", "schemas/order.json") == (
        "expects an inline JSON Schema mapping or {$ref: path/to/schema.json}, "
        "got 'schemas/order.json'"
    )


def test_assert_json_schema_resolves_refs_from_base_dir(tmp_path: Path) -> None:
    write(tmp_path / "person.json", json.dumps(PERSON))
    schema = {"$ref": "person.json"}
    assert assert_json_schema('{"name": "Ada"}', schema, base_dir=tmp_path).passed
    with pytest.raises(LLMAssertionError) as excinfo:
        assert_json_schema("{}", schema, base_dir=tmp_path)
    assert str(excinfo.value) == run("json_schema", schema, "{}", tmp_path).message


def test_a_compiled_schema_is_reused_across_outputs() -> None:
    compiled = compile_schema(PERSON)
    assert check_json_schema('{"name": "Ada"}', compiled).passed
    assert not check_json_schema('{"name": 1}', compiled).passed


CATASTROPHIC = "^(a|a)+$"
ALMOST = "a" * 40 + "b"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": CATASTROPHIC},
        {"type": "object", "patternProperties": {CATASTROPHIC: {}}},
        {"type": "object", "patternProperties": {CATASTROPHIC: {}}, "additionalProperties": False},
        {"type": "object", "propertyNames": {"pattern": CATASTROPHIC}},
    ],
    ids=["pattern", "patternProperties", "additionalProperties", "propertyNames"],
)
def test_a_schema_pattern_that_backtracks_is_undecided_not_a_hang(
    schema: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llmtest.assertions.patterns.REGEX_TIMEOUT_S", 0.05)
    answer = json.dumps(ALMOST if schema["type"] == "string" else {ALMOST: 1})
    with pytest.raises(UndecidedAssertion) as excinfo:
        run("json_schema", schema, answer)
    assert str(excinfo.value) == (
        f"json_schema: the schema's pattern {CATASTROPHIC!r}: matching the output took longer "
        "than 0.05 s (a pattern that backtracks catastrophically?); simplify it"
    )


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        ({"type": "string", "pattern": "^[A-Z]-\\d{4}$"}, '"A-1234x"'),
        ({"patternProperties": {"^x-": {"type": "integer"}}}, '{"x-a": "no"}'),
        ({"patternProperties": {"^x-": {}}, "additionalProperties": False}, '{"y": 1, "z": 2}'),
        ({"properties": {"a": {}}, "additionalProperties": False}, '{"a": 1, "b": 2}'),
        ({"properties": {"a": {}}, "additionalProperties": False}, '{"b": 2}'),
        ({"additionalProperties": {"type": "string"}}, '{"b": 2}'),
    ],
)
def test_bounded_pattern_keywords_say_what_jsonschema_says(
    schema: dict[str, object], answer: str
) -> None:
    from jsonschema import Draft202012Validator

    expected = [e.message for e in Draft202012Validator(schema).iter_errors(json.loads(answer))]
    result = run("json_schema", schema, answer)
    assert expected and not result.passed
    assert all(message in result.message for message in expected), result.message


def test_a_schema_pattern_that_is_no_regex_fails_the_load() -> None:
    assert spec_error("json_schema", {"type": "string", "pattern": "(unclosed"}) == (
        "expects a valid JSON Schema (Draft 2020-12); $.pattern: '(unclosed' is not a 'regex'"
    )


@pytest.mark.parametrize("name", ["is_json", "json_schema"])
def test_an_answer_nested_past_pythons_limit_fails_and_says_why(name: str) -> None:
    args = True if name == "is_json" else {"type": "array"}
    answer = "[" * 100_000 + "]" * 100_000
    result = run(name, args, answer)
    assert not result.passed
    assert result.message.startswith(
        "output nests too deeply to be read as JSON (Python's limit is about 1,000 levels)"
    )


def test_an_answer_too_deep_for_the_schema_check_fails_and_says_why() -> None:
    schema = {
        "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
        "$ref": "#/$defs/n",
    }
    answer = "[" * 900 + "]" * 900  # json reads it; a recursive schema's check cannot
    result = run("json_schema", schema, answer)
    assert (result.passed, result.message) == (
        False,
        "output nests too deeply to be checked against the schema",
    )


@pytest.mark.parametrize(
    ("name", "contents", "problem"),
    [
        (
            "deep.json",
            '{"type": "object", "properties": {"a": ' * 150 + "{}" + "}}" * 150,
            "nests too deeply (more than 64 levels of lists and mappings)",
        ),
        (
            "laughs.yaml",
            "a: &a [lol, lol]\nb: &b [*a, *a]\ntype: object\nenum: [*b]\n",
            "a YAML alias (line 2): schema files may not use them",
        ),
    ],
)
def test_a_referenced_schema_file_is_bounded_as_a_case_file_is(
    tmp_path: Path, name: str, contents: str, problem: str
) -> None:
    write(tmp_path / name, contents)
    assert spec_error("json_schema", {"$ref": name}, tmp_path) == (
        f"cannot load $ref {name!r}: cannot parse {tmp_path / name}: {problem}"
    )
