"""A hostile case file fails collection in one line naming file and line, never with a
traceback (the limits themselves: tests/cases/test_limits.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.hostile import laughs

BILLION_LAUGHS = laughs(10)
DEEP = "nests too deeply (more than 64 levels of lists and mappings)"


def assert_one_line_collection_error(result: pytest.RunResult, name: str, line: str) -> None:
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in out and "RecursionError" not in out
    # The error's section holds its one line, up to the next section's rule.
    lines = result.stdout.lines
    start = next(i for i, text in enumerate(lines) if f"ERROR collecting {name}" in text)
    assert lines[start + 1] == line
    assert lines[start + 2].startswith("=")


def test_a_billion_laughs_fails_collection_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".llm.yaml", test_bomb=BILLION_LAUGHS)
    # A subprocess, with a guard against the bomb going off (not a measure of speed).
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    assert_one_line_collection_error(
        result,
        "test_bomb.llm.yaml",
        "test_bomb.llm.yaml:12: case 'laughs': field 'metadata': the file holds more than "
        "10,000,000 values once its aliases are expanded (the limit)",
    )


def deep_schema(levels: int) -> str:
    schema: dict[str, object] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return json.dumps(schema)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        pytest.param(
            "test_deep.llm.yaml",
            "cases:\n  - id: a\n    prompt: hi\n    metadata: " + "[" * 990 + "]" * 990 + "\n",
            f"test_deep.llm.yaml:4: case 'a': field 'metadata[0]': {DEEP}",
            id="yaml-list-990",
        ),
        pytest.param(
            "test_deep.llm.yaml",
            "cases:\n  - id: s\n    prompt: hi\n    assert:\n"
            f"      - json_schema: {deep_schema(500)}\n",
            f"test_deep.llm.yaml:5: case 's': field 'assert[0]': {DEEP}",
            id="yaml-json-schema-500",
        ),
        pytest.param(
            "test_deep.llm.jsonl",
            json.dumps({"id": "s", "prompt": "hi"})[:-1]
            + f', "assert": [{{"json_schema": {deep_schema(500)}}}]}}\n',
            f"test_deep.llm.jsonl:1: case 's': field 'assert[0]': {DEEP}",
            id="jsonl-json-schema-500",
        ),
        pytest.param(
            "test_deep.llm.csv",
            "id,prompt,contains\nc,hi," + "[" * 10_000 + "]" * 10_000 + "\n",
            f"test_deep.llm.csv:2: case 'c': field 'contains': {DEEP}",
            id="csv-cell-10000",
        ),
        pytest.param(
            "test_deep.llm.yaml",
            "cases:\n  - id: loop\n    prompt: hi\n    metadata: &a [*a]\n",
            "test_deep.llm.yaml:4: case 'loop': field 'metadata[0]': recursive alias: the "
            "value anchored at line 4 contains itself",
            id="recursive-alias",
        ),
    ],
)
def test_a_file_nested_too_deeply_fails_collection_in_one_line(
    pytester: pytest.Pytester, name: str, text: str, line: str
) -> None:
    (pytester.path / name).write_text(text)
    assert_one_line_collection_error(pytester.runpytest(), name, line)
