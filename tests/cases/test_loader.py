"""Loading case files: what a suite's settings do to its cases."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from llmtest.assertions.base import AssertionType, BuildContext, Check
from llmtest.cases import load_suite
from llmtest.cases.readers import read_suite


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_yaml_suite_settings_reach_every_case(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_support.llm.yaml",
        """
        model: support-bot
        system: "You are Acme's support agent."
        tags: [support]
        params: {temperature: 0}
        defaults:
          assert:
            - not_contains: ["As an AI language model"]
        cases:
          - id: refund-window
            prompt: "How long do I have to return an item?"
            tags: [policy, critical]
            assert:
              - contains: ["30 days"]
    """,
    )
    suite = load_suite(path, "tests/test_support.llm.yaml")
    (case,) = suite.cases
    assert suite.model == "support-bot"
    assert case.id == "refund-window"
    assert case.suite == "tests/test_support.llm.yaml"
    assert case.line == 9
    assert case.tags == ("support", "policy", "critical")
    assert case.params == {"temperature": 0}
    assert case.messages == (
        {"role": "system", "content": "You are Acme's support agent."},
        {"role": "user", "content": "How long do I have to return an item?"},
    )
    assert [a.type for a in case.assertions] == ["not_contains", "contains"]


def test_vars_are_substituted_in_prompts_and_assertions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_vars.llm.yaml",
        """
        vars: {city: Paris}
        cases:
          - id: order-json
            prompt: "Extract the order as JSON: {{order}} for {{city}}"
            vars: {order: "2 apples, 1 pear"}
            assert:
              - contains: ["{{city}}"]
    """,
    )
    (case,) = load_suite(path).cases
    assert case.prompt == "Extract the order as JSON: 2 apples, 1 pear for Paris"
    assert case.assertions[0].args == ["Paris"]


def test_messages_are_used_as_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_chat.llm.yaml",
        """
        system: Be brief.
        cases:
          - id: follow-up
            messages:
              - {role: user, content: "My order is 42."}
              - {role: assistant, content: "Noted."}
              - {role: user, content: "What was my order number?"}
    """,
    )
    (case,) = load_suite(path).cases
    assert [m["role"] for m in case.messages] == ["system", "user", "assistant", "user"]
    assert case.prompt == "What was my order number?"


def test_seed_dictionary_style_jsonl_loads_unchanged(tmp_path: Path) -> None:
    line = {
        "input": "Give me the order as JSON",
        "expected_contains": ["key fact 1"],
        "expected_format": "json",
        "schema": {"type": "object"},
        "expected_not_contains": ["system prompt"],
    }
    path = tmp_path / "test_seed.llm.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    (case,) = load_suite(path).cases
    assert case.prompt == "Give me the order as JSON"
    assert [a.type for a in case.assertions] == ["contains", "not_contains", "json_schema"]
    assert case.line == 1


def test_expected_format_json_without_schema_checks_json(tmp_path: Path) -> None:
    path = tmp_path / "test_seed.llm.jsonl"
    path.write_text('{"input": "json please", "expected_format": "json"}\n', encoding="utf-8")
    (case,) = load_suite(path).cases
    assert [a.type for a in case.assertions] == ["is_json"]


def test_generated_ids_are_readable_and_stable_under_reordering(tmp_path: Path) -> None:
    a = '{"input": "What is the capital of France?"}'
    b = '{"input": "And of Italy?"}'
    first = tmp_path / "test_one.llm.jsonl"
    second = tmp_path / "test_two.llm.jsonl"
    first.write_text(f"{a}\n{b}\n")
    second.write_text(f"{b}\n{a}\n")
    ids_first = [c.id for c in load_suite(first).cases]
    ids_second = [c.id for c in load_suite(second).cases]
    assert ids_first[0].startswith("what-is-the-capital-of-france-")
    assert ids_first == list(reversed(ids_second))


def test_jsonl_suite_line_sets_suite_settings(tmp_path: Path) -> None:
    path = tmp_path / "test_lib.llm.jsonl"
    path.write_text(
        '{"suite": {"model": "echo:", "system": "Be kind.", "tags": ["lib"]}}\n'
        '{"id": "a", "input": "hi"}\n'
    )
    suite = load_suite(path)
    (case,) = suite.cases
    assert suite.model == "echo:"
    assert case.tags == ("lib",)
    assert case.messages[0] == {"role": "system", "content": "Be kind."}
    assert case.line == 2


def test_csv_columns_become_fields_vars_and_assertions(tmp_path: Path) -> None:
    path = tmp_path / "test_table.llm.csv"
    path.write_text(
        "id,prompt,tags,vars.city,contains,regex\n"
        'capital,"Capital of {{city}}?","geo,smoke",France,"[""Paris""]",^[A-Z]\n'
    )
    (case,) = load_suite(path).cases
    assert case.id == "capital"
    assert case.prompt == "Capital of France?"
    assert case.tags == ("geo", "smoke")
    assert [(a.type, a.args) for a in case.assertions] == [
        ("contains", ["Paris"]),
        ("regex", "^[A-Z]"),
    ]
    assert case.line == 2


def test_csv_from_excel_with_a_bom_and_number_bounds(tmp_path: Path) -> None:
    path = tmp_path / "test_table.llm.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,prompt,contains,length,latency_ms\ncap,Paris,[ERROR],200,1500.5\n"
    )
    (case,) = load_suite(path).cases
    assert case.id == "cap"
    assert [(a.type, a.args) for a in case.assertions] == [
        ("contains", "[ERROR]"),  # brackets without quotes: text, not JSON
        ("length", 200),
        ("latency_ms", 1500.5),
    ]


def never_built(args: object, context: BuildContext) -> Check:
    raise AssertionError("reading a case file builds no assertion")


def test_the_csv_reader_asks_each_assertion_whether_its_cell_may_be_a_number(
    tmp_path: Path,
) -> None:
    path = tmp_path / "test_table.llm.csv"
    path.write_text("id,prompt,words,echo\na,hi,12,12\n")
    types = {
        "words": AssertionType("words", never_built, number_argument=True),
        "echo": AssertionType("echo", never_built),
    }
    (case,) = read_suite(path, "test_table.llm.csv", types).cases
    assert case.data["assert"] == [{"words": 12}, {"echo": "12"}]


def test_case_hash_changes_with_the_case_and_not_with_its_position(tmp_path: Path) -> None:
    one = write(
        tmp_path,
        "a.llm.yaml",
        """
        cases:
          - {id: x, prompt: hi, assert: [{contains: a}]}
          - {id: y, prompt: there}
    """,
    )
    two = write(
        tmp_path,
        "b.llm.yaml",
        """
        cases:
          - {id: y, prompt: there}
          - {id: x, prompt: hi, assert: [{contains: b}]}
    """,
    )
    hashes_one = {c.id: c.hash for c in load_suite(one).cases}
    hashes_two = {c.id: c.hash for c in load_suite(two).cases}
    assert hashes_one["y"] == hashes_two["y"]
    assert hashes_one["x"] != hashes_two["x"]


def test_builtin_library_is_included_with_the_suite_system_prompt(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_guard.llm.yaml",
        """
        system: "You are Acme's support agent."
        tags: [support]
        include: ["llmtest:adversarial/prompt-injection"]
        cases: []
    """,
    )
    cases = load_suite(path).cases
    assert cases
    first = cases[0]
    assert first.id.startswith("prompt-injection/")
    assert first.tags[:2] == ("support", "adversarial")
    assert first.messages[0]["content"] == "You are Acme's support agent."
    assert first.assertions[0].args == {
        "values": ["You are Acme's support agent."],
        "ignore_case": True,
    }


def test_relative_include_prefixes_ids_with_the_included_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "shared/common.llm.yaml".replace("/", "_"),
        """
        cases:
          - {id: hello, prompt: hi}
    """,
    )
    path = write(
        tmp_path,
        "test_main.llm.yaml",
        """
        include: [shared_common.llm.yaml]
        cases:
          - {id: own, prompt: mine}
    """,
    )
    assert [c.id for c in load_suite(path).cases] == ["own", "shared_common/hello"]


def test_repeat_and_min_pass_rate_come_from_defaults_or_the_case(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_repeat.llm.yaml",
        """
        defaults: {repeat: 3, min_pass_rate: 0.6}
        cases:
          - {id: a, prompt: hi}
          - {id: b, prompt: hi, repeat: 5, min_pass_rate: 1.0}
    """,
    )
    a, b = load_suite(path).cases
    assert (a.repeat, a.min_pass_rate) == (3, 0.6)
    assert (b.repeat, b.min_pass_rate) == (5, 1.0)


def test_skip_with_a_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "test_skip.llm.yaml",
        """
        cases:
          - {id: a, prompt: hi, skip: "flaky upstream"}
          - {id: b, prompt: hi, skip: true}
    """,
    )
    a, b = load_suite(path).cases
    assert a.skip == "flaky upstream"
    assert b.skip == "skipped in the case file"
