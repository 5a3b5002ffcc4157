"""Every example in README.md and docs/*.md runs, so the docs cannot rot.

Each ```yaml, ```python and ```toml block is written into a temporary project (pytester's)
and run the way the page tells a reader to: case files and tests by pytest with the llmtest
plugin, ``llmtest`` commands, scripts by python, GitHub Actions workflows step by step
(tests/docs/actions.py). Models are local and deterministic; nothing leaves loopback. A
block that cannot be run fails its test, never skips it. Other blocks (console, text, json,
csv) run only when a directive says so.

A directive is an HTML comment on the line just before the block (GitHub does not show it)
holding YAML: ``<!-- doc-test: {project: refunds, model: answers} -->`` on one line, or a
block mapping on the lines after ``<!-- doc-test``. Without one, a block runs alone with the
defaults below. Keys:

``project: NAME``
    Blocks of one page with the same project share a folder and run together, once.
``file: PATH``
    Where the block is written. Default: a first line ``# PATH`` in the block; else a case
    file ``test_example_N.llm.yaml``, a test ``test_example_N.py``, a script
    ``example_N.py``, a workflow ``.github/workflows/example_N.yml``; ```toml blocks go
    into ``pyproject.toml``. A ``pyproject.toml`` in a subfolder with a ``[project]`` table
    is a plugin package: it is "installed" (metadata with its entry points, its folder on
    ``PYTHONPATH``) and every command then runs in a subprocess.
``files: {PATH: TEXT}``
    Files the example assumes but does not show (a schema, your app's module).
``answers: {TEXT: REPLY}``
    What the model says: a prompt whose last user message contains TEXT gets REPLY, any
    other prompt is echoed. Served by ``callable:doc_model:answer`` and by the fake
    OpenAI/Anthropic server (tests/support/llm_server.py) at which every ``openai`` and
    ``anthropic`` alias, and the SDKs' ``*_BASE_URL``, are pointed. For the fake server a
    REPLY may be ``{MODEL: REPLY}`` (``"*"``: any other model).
``models: {ALIAS: SPEC}``
    Aliases added to ``pyproject.toml``; the SPEC ``answers`` is the answers table.
``env: {NAME: VALUE}``
    Environment variables the example assumes are exported (a gateway's key).
``model: SPEC``
    Added to every ``pytest`` (``--llm-model``) and ``llmtest run`` (``--model``) command;
    ``answers`` is the answers table.
``run: COMMAND`` or a list of them
    ``pytest ARGS``, ``llmtest ARGS``, ``python FILE ARGS`` or ``github-actions FILE``, run
    in order; an item may be ``{cmd, expect, output}``. Default: the workflows; else
    ``pytest`` when there is a case file or test; else ``python`` for a lone script; else,
    for ```toml defining model aliases, a one-case suite per alias, each of which must pass.
``expect: {passed: N, failed: N, errors: N, skipped: N, deselected: N, exit: N}``
    For the last command (counts are exact: an outcome not named must not occur). Default:
    exit 0 and, for pytest, at least one test passed.
``output: [LINE, ...]``
    Lines the last command prints, in this order; ``...`` stands for any text, and a run of
    spaces for any run of spaces.
``output_of: COMMAND``
    On a ```text or ```console block of a project: its non-blank lines are what that
    command (as written in ``run``) prints, matched as ``output``.
``with: [PROJECT, ...]``
    Also write those projects' blocks, files, answers and models (not their runs).

Pages whose text the docs writers do not own (README.md outside its list of docs,
docs/design.md) keep their directives in tests/docs/external.yaml, each naming its block
by the start of the block's first line. A directive that is not just before a block is a
failure too (``test_every_directive_belongs_to_a_block``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.examples import Example, all_examples, page_examples
from tests.docs.project import DocProject
from tests.support.llm_server import FakeLLMServer

EXAMPLES, PAGE_PROBLEMS = all_examples()


@pytest.fixture(scope="module")
def doc_provider() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after=0) as server:
        yield server


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_docs_example(
    example: Example,
    pytester: pytest.Pytester,
    doc_provider: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    DocProject(example, pytester, doc_provider, monkeypatch).run()


def test_every_directive_belongs_to_a_block() -> None:
    assert not PAGE_PROBLEMS, "\n".join(PAGE_PROBLEMS)


def run_page(
    text: str,
    pytester: pytest.Pytester,
    provider: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = pytester.path.parent / f"{pytester.path.name}.md"
    page.write_text(text)
    examples, problems = page_examples(page)
    assert not problems
    for example in examples:
        DocProject(example, pytester, provider, monkeypatch).run()


def test_a_block_with_no_way_to_run_fails(
    pytester: pytest.Pytester, doc_provider: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(pytest.fail.Exception, match="no way to run this ```yaml block"):
        run_page("```yaml\nretries: 3\n```\n", pytester, doc_provider, monkeypatch)


def test_an_example_whose_claim_is_false_fails(
    pytester: pytest.Pytester, doc_provider: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (
        '<!-- doc-test: {model: answers, answers: {"return": "Within 30 days."}} -->\n'
        "```yaml\ncases:\n  - {id: a, prompt: Can I return it, assert: [{contains: 31 days}]}\n"
        "```\n"
    )
    with pytest.raises(pytest.fail.Exception, match=r"expected exit 0, got 1"):
        run_page(page, pytester, doc_provider, monkeypatch)


def test_a_directive_that_is_not_just_before_a_block_is_a_problem(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- doc-test: {model: answers} -->\n\nSome prose.\n\n```yaml\ncases: []\n```\n"
    )
    assert page_examples(page)[1] == [
        "page.md:1: a doc-test directive must be on the line just before a code block (```)"
    ]
