"""Hostile case files: bounded before they expand, refused in one line naming file and line.

Case files are untrusted (llmtest/config/limits.py says why each limit is what it is). Every
refusal here is a CaseFileError, never a RecursionError or a MemoryError, and each bomb is
refused on the composed YAML nodes, before anything is built from them.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmtest.adapters.base import Response
from llmtest.cases import load_suite, readers
from llmtest.cases.templating import RenderedTooLong, UnknownVariable, render, render_value
from llmtest.config.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_TEXT_CHARS
from llmtest.errors import CaseFileError
from tests.support.hostile import laughs

DEEP = f"nests too deeply (more than {MAX_DEPTH} levels of lists and mappings)"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, name: str = "test_bad.llm.yaml") -> str:
    path = write(tmp_path, name, text)
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(path, name)
    return str(excinfo.value)


# -- YAML aliases and merge keys ------------------------------------------------------------


def test_a_billion_laughs_is_refused_without_being_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten levels of nine ask for 3.9 billion values; the walk measures each anchor once,
    and nothing is constructed (a constructed bomb is already in memory)."""

    def construct(*args: Any) -> Any:
        raise AssertionError("the document was constructed")

    monkeypatch.setattr(readers._YamlLoader, "construct_document", construct)
    message = load_error(tmp_path, laughs(10))
    # a: line 5 (10 values) ... g: line 11 (5.4 million); h, line 12, takes it over.
    assert message == (
        "test_bad.llm.yaml:12: case 'laughs': field 'metadata': the file holds more than "
        "10,000,000 values once its aliases are expanded (the limit)"
    )


def test_the_values_limit_counts_every_alias_of_a_node_across_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No one case is big: the file is, and the case that takes it over is named."""
    monkeypatch.setattr(readers, "MAX_VALUES", 1_000)
    items = ", ".join(["x"] * 100)
    text = "cases:\n  - {id: c0, prompt: hi, metadata: &m [" + items + "]}\n"
    text += "".join(f"  - {{id: c{i}, prompt: hi, metadata: *m}}\n" for i in range(1, 20))
    message = load_error(tmp_path, text)
    # Each case is 7 values besides its 101 of metadata: the tenth case (c9) goes over.
    assert message == (
        "test_bad.llm.yaml:11: case 'c9': the file holds more than 1,000 values once its "
        "aliases are expanded (the limit)"
    )


def test_aliases_of_a_long_string_are_bounded_by_the_text_limit(tmp_path: Path) -> None:
    long = "x" * 100_000
    aliases = ", ".join(["*long"] * (MAX_TEXT_CHARS // len(long) + 1))
    text = f"""
    cases:
      - id: text
        prompt: hi
        metadata:
          one: &long {long}
          many: [{aliases}]
    """
    message = load_error(tmp_path, text)
    assert message == (
        "test_bad.llm.yaml:6: case 'text': field 'metadata': the file holds more than "
        "67,108,864 characters of text once its aliases are expanded (the limit)"
    )


def test_an_anchor_used_inside_itself_is_one_line(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - id: loop
            prompt: hi
            metadata: &a [1, *a]
        """,
    )
    assert message == (
        "test_bad.llm.yaml:4: case 'loop': field 'metadata[1]': recursive alias: the value "
        "anchored at line 4 contains itself"
    )


def test_a_mapping_merged_into_itself_is_one_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "cases:\n  - &c {id: c, prompt: hi, <<: *c}\n")
    assert message == (
        "test_bad.llm.yaml:2: recursive alias: the value anchored at line 2 contains itself"
    )


def test_ordinary_aliases_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_ok.llm.yaml",
        """
        cases:
          - id: a
            prompt: hi
            assert: &checks
              - contains: hi
              - not_contains: ["as an AI"]
          - id: b
            prompt: hi there
            assert: *checks
        """,
    )
    suite = load_suite(path, "test_ok.llm.yaml")
    assert [[s.type for s in c.assertions] for c in suite.cases] == [
        ["contains", "not_contains"],
        ["contains", "not_contains"],
    ]


def test_a_merge_key_override_is_not_a_duplicate_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_merge.llm.yaml",
        """
        cases:
          - &base {id: b1, prompt: hi, assert: [{contains: hi}]}
          - <<: *base
            id: b2
        """,
    )
    suite = load_suite(path, "test_merge.llm.yaml")
    assert [(c.id, c.line, c.messages[0]["content"]) for c in suite.cases] == [
        ("b1", 2, "hi"),
        ("b2", 3, "hi"),
    ]
    assert [s.type for s in suite.cases[1].assertions] == ["contains"]


def test_a_merged_value_is_named_at_the_line_it_was_written(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - &base {id: b1, messages: [{role: user, content: hi}]}
          - <<: *base
            id: b2
            prompt: hello
        """,
    )
    assert message == (
        "test_bad.llm.yaml:2: case 'b2': field 'messages': give one of 'prompt', 'input' "
        "or 'messages', not prompt and messages"
    )


def test_a_key_written_twice_beside_a_merge_key_is_still_a_duplicate(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        """
        cases:
          - &base {id: b1, prompt: hi}
          - <<: *base
            id: b2
            id: b3
        """,
    )
    assert message == "test_bad.llm.yaml:5: duplicate key 'id' (first at line 4)"


# -- Nesting ------------------------------------------------------------------------------------


def test_a_yaml_list_990_deep_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 990 + "]" * 990
    message = load_error(tmp_path, f"cases:\n  - id: a\n    prompt: hi\n    metadata: {deep}\n")
    assert message == f"test_bad.llm.yaml:4: case 'a': field 'metadata[0]': {DEEP}"


def test_a_yaml_mapping_500_deep_names_the_line_where_it_goes_too_deep(tmp_path: Path) -> None:
    """The case's mapping is level 3 (the document, ``cases``, the case); ``metadata``'s
    value is level 4, and the value of the ``k:`` on line 65 is level 65."""
    nested = "".join(" " * (6 + 2 * i) + "k:\n" for i in range(500))
    text = "cases:\n  - id: a\n    prompt: hi\n    metadata:\n" + nested
    message = load_error(tmp_path, text)
    assert message == f"test_bad.llm.yaml:65: case 'a': field 'metadata': {DEEP}"


def json_schema(levels: int) -> dict[str, Any]:
    """A schema ``levels`` arrays deep: one level of nesting per level of schema."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


def test_a_json_schema_500_deep_in_yaml_is_one_line(tmp_path: Path) -> None:
    schema = json.dumps(json_schema(500))
    message = load_error(
        tmp_path, f"cases:\n  - id: s\n    prompt: hi\n    assert:\n      - json_schema: {schema}\n"
    )
    assert message == f"test_bad.llm.yaml:5: case 's': field 'assert[0]': {DEEP}"


def test_a_json_schema_500_deep_in_jsonl_is_one_line(tmp_path: Path) -> None:
    case = {"id": "s", "prompt": "hi", "assert": [{"json_schema": json_schema(500)}]}
    text = json.dumps({"id": "ok", "prompt": "hi"}) + "\n" + json.dumps(case) + "\n"
    message = load_error(tmp_path, text, "test_bad.llm.jsonl")
    assert message == f"test_bad.llm.jsonl:2: case 's': field 'assert[0]': {DEEP}"


def test_a_jsonl_line_that_decodes_but_nests_too_deeply_is_one_line(tmp_path: Path) -> None:
    text = '{"id": "a", "prompt": "hi", "vars": {"x": ' + "[" * 500 + "]" * 500 + "}}\n"
    message = load_error(tmp_path, text, "test_bad.llm.jsonl")
    assert message == f"test_bad.llm.jsonl:1: case 'a': field 'vars': {DEEP}"


@pytest.mark.parametrize("levels", [10_000, 100])
def test_a_csv_cell_of_deep_json_is_one_line(tmp_path: Path, levels: int) -> None:
    """10,000 levels are too deep for the JSON decoder itself; 100 decode, and are still
    too deep to be walked safely."""
    cell = "[" * levels + '"x"' + "]" * levels
    text = f"id,prompt,contains\nok,hi,x\na,hi,{cell}\n"
    message = load_error(tmp_path, text, "test_bad.llm.csv")
    assert message == f"test_bad.llm.csv:3: case 'a': field 'contains': {DEEP}"


def test_a_value_at_the_depth_limit_loads_and_its_schema_checks_answers(tmp_path: Path) -> None:
    """Levels 1 to 5 are the document, ``cases``, the case, ``assert`` and the assertion;
    the schema itself takes the rest, to the limit: its meta-schema check and an answer's
    validation recurse deepest of all, and stay inside the stack under pytest."""
    fits = MAX_DEPTH - 6
    for levels, ok in ((fits, True), (fits + 1, False)):
        schema = json.dumps(json_schema(levels))
        path = write(
            tmp_path,
            f"test_{levels}.llm.yaml",
            f"cases:\n  - id: s\n    prompt: hi\n    assert:\n      - json_schema: {schema}\n",
        )
        if not ok:
            with pytest.raises(CaseFileError, match="nests too deeply"):
                load_suite(path, path.name)
            continue
        (case,) = load_suite(path, path.name).cases
        answer = json.dumps(json.loads("[" * levels + '"x"' + "]" * levels))
        assert case.assertions[0].check(Response(text=answer)).passed
        wrong = json.dumps(json.loads("[" * levels + "1" + "]" * levels))
        assert not case.assertions[0].check(Response(text=wrong)).passed


def test_a_realistic_schema_20_objects_deep_loads_and_validates(tmp_path: Path) -> None:
    schema: dict[str, Any] = {"type": "object", "required": ["sku"], "properties": {}}
    schema["properties"]["sku"] = {"type": "string"}
    answer: Any = {"sku": "A-1"}
    for level in range(20):
        key = "items" if level % 2 else "order"
        inner = {"type": "array", "items": schema} if level % 2 else schema
        schema = {"type": "object", "required": [key], "properties": {key: inner}}
        answer = {key: [answer] if level % 2 else answer}
    path = write(
        tmp_path,
        "test_orders.llm.yaml",
        "cases:\n  - id: order\n    prompt: hi\n    assert:\n"
        f"      - json_schema: {json.dumps(schema)}\n",
    )
    (case,) = load_suite(path, path.name).cases
    assert case.assertions[0].check(Response(text=json.dumps(answer))).passed
    assert not case.assertions[0].check(Response(text=json.dumps({"order": {}}))).passed


def test_pyyaml_own_composer_too_deep_for_the_stack_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without libyaml, PyYAML composes recursively (libyaml stops at 1,000 levels)."""

    class PurePython(yaml.SafeLoader):
        pass

    monkeypatch.setattr(readers, "_YamlLoader", PurePython)
    deep = "[" * 5000 + "]" * 5000
    message = load_error(tmp_path, f"cases:\n  - id: a\n    prompt: hi\n    metadata: {deep}\n")
    assert message == f"test_bad.llm.yaml: {DEEP}"


# -- The file itself ----------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "test_big.llm.yaml"
    with path.open("wb") as sparse:  # no disk used: a hole the size of the limit, and a byte
        sparse.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(path, "test_big.llm.yaml")
    assert str(excinfo.value) == (
        "test_big.llm.yaml: cannot read case file: it is 67,108,865 bytes, more than the "
        "limit of 67,108,864 (64 MiB)"
    )


def test_a_folder_named_like_a_case_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test_folder.llm.yaml").mkdir()
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(tmp_path / "test_folder.llm.yaml", "test_folder.llm.yaml")
    assert str(excinfo.value) == "test_folder.llm.yaml: cannot read case file: not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_like_a_case_file_is_refused_without_waiting_on_it(tmp_path: Path) -> None:
    pipe = tmp_path / "test_pipe.llm.yaml"
    os.mkfifo(pipe)
    messages: list[str] = []

    def load() -> None:
        try:
            load_suite(pipe, "test_pipe.llm.yaml")
        except CaseFileError as exc:
            messages.append(str(exc))

    loading = threading.Thread(target=load, daemon=True)
    loading.start()
    loading.join(timeout=60)  # a guard against a hang, not a measure of speed
    if loading.is_alive():  # blocked opening the pipe: give it an end, then fail
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        loading.join()
        pytest.fail("loading a pipe waited for a writer")
    assert messages == ["test_pipe.llm.yaml: cannot read case file: not a regular file"]


def test_a_file_is_read_as_text_with_any_line_ends_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "test_ends.llm.yaml"
    path.write_bytes(
        b'\xef\xbb\xbfcases:\r\n  - id: a\r\n    prompt: "one\\\r\n  two"\r  - id: b\n'
    )
    with pytest.raises(CaseFileError) as excinfo:  # b has no prompt: lines are counted right
        load_suite(path, path.name)
    assert str(excinfo.value).startswith("test_ends.llm.yaml:5: case 'b': field 'prompt': ")
    path.write_bytes(b'\xef\xbb\xbfcases:\r\n  - id: a\r\n    prompt: "one\r\n  two"\r\n')
    assert load_suite(path, path.name).cases[0].messages[0]["content"] == "one two"


# -- Templating ---------------------------------------------------------------------------------


def test_a_prompt_that_renders_too_long_names_its_field(tmp_path: Path) -> None:
    many = "{{a}}" * (MAX_TEXT_CHARS // 100_000 + 1)
    message = load_error(
        tmp_path, f'vars: {{a: {"x" * 100_000}}}\ncases:\n  - id: t\n    prompt: "{many}"\n'
    )
    assert message == (
        "test_bad.llm.yaml:4: case 't': field 'prompt': '{{a}}' makes the rendered text "
        "longer than 67,108,864 characters (the limit)"
    )


def test_an_assertion_that_renders_too_long_is_one_line(tmp_path: Path) -> None:
    """Its strings count together: each is under the limit, the two are over it."""
    half = '"' + "{{a}}" * (MAX_TEXT_CHARS // 200_000 + 1) + '"'
    text = (
        f"vars: {{a: {'x' * 100_000}}}\ncases:\n  - id: t\n    prompt: hi\n"
        f"    assert:\n      - contains: [{half}, {half}]\n"
    )
    message = load_error(tmp_path, text)
    assert message == (
        "test_bad.llm.yaml:6: case 't': assertion 'contains': '{{a}}' makes the rendered text "
        "longer than 67,108,864 characters (the limit)"
    )


def test_render_refuses_past_the_limit_and_not_at_it() -> None:
    variables = {"a": "x" * 10, "n": [1, 2]}
    assert render("{{a}}" * 10, variables, limit=100) == "x" * 100
    with pytest.raises(RenderedTooLong) as excinfo:
        render("{{a}}" * 10, variables, limit=99)
    assert isinstance(excinfo.value, UnknownVariable)  # what the loader reports in one line
    assert str(excinfo.value) == (
        "'{{a}}' makes the rendered text longer than 99 characters (the limit)"
    )
    with pytest.raises(RenderedTooLong):  # the text after the last placeholder counts too
        render("{{n}}" + "y" * 95, variables, limit=100)
    assert render_value({"v": ["{{a}}", "{{a}}"], "w": 3}, variables, limit=20) == {
        "v": ["x" * 10, "x" * 10],
        "w": 3,
    }
    with pytest.raises(RenderedTooLong, match="longer than 19 characters"):
        render_value({"v": ["{{a}}", "{{a}}"]}, variables, limit=19)
