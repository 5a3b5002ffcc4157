"""Read the pages: their code blocks, the doc-test directives and the examples they form.

The directive syntax is documented at the top of tests/test_docs.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = Path(__file__).with_name("external.yaml")
RUNNABLE = frozenset({"yaml", "yml", "python", "toml"})
"""Blocks in these languages must run; any other block runs only when a directive says so."""

BLOCK_KEYS = frozenset({"project", "file", "output_of"})
PROJECT_KEYS = frozenset(
    {"files", "answers", "models", "model", "env", "run", "expect", "output", "with"}
)
_MERGED = ("files", "answers", "models", "env")
_SET_ONCE = ("model", "run", "expect", "output")

_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_DIRECTIVE = re.compile(r"<!--\s*doc-test\b:?(.*?)-->", re.S)
_DIRECTIVE_BEFORE_FENCE = re.compile(r"<!--\s*doc-test\b:?(.*?)-->[ \t]*\n\Z", re.S)
_FILE_COMMENT = re.compile(r"^#\s*(\S+\.(?:py|ya?ml|toml|jsonl?|csv))\s*$")
_TEST_FUNCTION = re.compile(r"^(?:async )?def test_", re.M)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name


@dataclass
class Block:
    """One fenced code block and the directive written on the line before it, if any."""

    page: str
    line: int
    lang: str
    text: str
    directive: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def kind(self) -> str:
        """``cases``, ``workflow``, ``tests``, ``python``, ``toml``, ``yaml`` or ``text``."""
        if self.lang in ("yaml", "yml"):
            try:
                data = yaml.safe_load(self.text)
            except yaml.YAMLError:
                return "yaml"
            if isinstance(data, dict) and "jobs" in data:
                return "workflow"
            if isinstance(data, dict) and "cases" in data:
                return "cases"
            return "yaml"
        if self.lang == "python":
            return "tests" if _TEST_FUNCTION.search(self.text) else "python"
        if self.lang == "toml":
            return "toml"
        return "text"

    def path(self, number: int) -> str | None:
        """Where the block is written: the directive's ``file``, else a first line ``# PATH``,
        else a name for its kind (None for text, which is only ever expected output)."""
        if self.directive and "file" in self.directive:
            return str(self.directive["file"])
        lines = self.text.splitlines()
        match = _FILE_COMMENT.match(lines[0]) if lines else None
        if match:
            return match.group(1)
        return {
            "cases": f"test_example_{number}.llm.yaml",
            "workflow": f".github/workflows/example_{number}.yml",
            "tests": f"test_example_{number}.py",
            "python": f"example_{number}.py",
            "toml": "pyproject.toml",
        }.get(self.kind)


@dataclass
class Example:
    """The blocks that run together in one temporary project (a ``project``, or one block)."""

    page: str
    name: str
    blocks: list[Block] = field(default_factory=list)
    context: list[Block] = field(default_factory=list)
    """Blocks of the projects named in ``with``: written, not run."""
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page}::{self.name}"

    def merge(self, block: Block, settings: Mapping[str, Any], *, context: bool = False) -> None:
        for key in _MERGED:
            for name, value in (settings.get(key) or {}).items():
                table = self.settings.setdefault(key, {})
                if name in table and table[name] != value:
                    self.problems.append(f"{block.where}: {key} {name!r} is set twice, differently")
                table[name] = value
        if context:
            return
        for key in _SET_ONCE:
            if key in settings:
                if key in self.settings:
                    self.problems.append(
                        f"{block.where}: {key!r} is already set by another block of this project"
                    )
                self.settings[key] = settings[key]
        self.settings.setdefault("with", [])
        self.settings["with"] += list(settings.get("with") or [])


def read_blocks(page: Path) -> tuple[list[Block], list[str]]:
    """The page's code blocks with their directives, and directives attached to no block."""
    text = page.read_text(encoding="utf-8")
    name = page_name(page)
    blocks: list[Block] = []
    problems: list[str] = []
    used: set[int] = set()
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        block = Block(name, line, match.group(1).lower(), match.group(2))
        before = text[: match.start()]
        start = before.rfind("<!--")
        found = _DIRECTIVE_BEFORE_FENCE.match(before, start) if start >= 0 else None
        if found:
            used.add(start)
            block.directive = _parse_directive(found.group(1), block, problems)
        blocks.append(block)
    for match in _DIRECTIVE.finditer(text):
        if match.start() not in used:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                f"{name}:{line}: a doc-test directive must be on the line just before a "
                "code block (```)"
            )
    return blocks, problems


def _parse_directive(body: str, block: Block, problems: list[str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(body) if body.strip() else {}
    except yaml.YAMLError as exc:
        problems.append(f"{block.where}: the doc-test directive is not YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{block.where}: a doc-test directive is a mapping, got {data!r}")
        return {}
    unknown = set(data) - BLOCK_KEYS - PROJECT_KEYS
    if unknown:
        known = ", ".join(sorted(BLOCK_KEYS | PROJECT_KEYS))
        problems.append(f"{block.where}: unknown doc-test keys {sorted(unknown)} (known: {known})")
    return data


def apply_external(blocks: list[Block], page: str, problems: list[str]) -> None:
    """Directives kept in tests/docs/external.yaml, for pages whose text we do not annotate:
    each entry names its block by the start of the block's first line."""
    entries = (yaml.safe_load(EXTERNAL.read_text(encoding="utf-8")) or {}).get(page, [])
    for entry in entries:
        entry = dict(entry)
        start = entry.pop("block")
        matches = [b for b in blocks if b.text.startswith(start)]
        if len(matches) != 1:
            problems.append(
                f"{EXTERNAL.name}: {page}: {len(matches)} blocks start with {start!r}, expected 1"
            )
            continue
        if matches[0].directive is not None:
            problems.append(f"{matches[0].where}: has a directive on the page and in {EXTERNAL}")
            continue
        matches[0].directive = _parse_directive(yaml.safe_dump(entry), matches[0], problems)


def page_examples(page: Path) -> tuple[list[Example], list[str]]:
    """The examples of one page, and the page's problems that belong to no example."""
    blocks, problems = read_blocks(page)
    name = page_name(page)
    apply_external(blocks, name, problems)
    examples: dict[str, Example] = {}
    for block in blocks:
        directive = block.directive
        if directive is None and block.lang not in RUNNABLE:
            continue
        directive = directive or {}
        project = directive.get("project")
        if project is None and block.kind == "text" and "file" not in directive:
            problems.append(
                f"{block.where}: a ```{block.lang} block's directive needs a 'file' to run "
                "it, or a 'project' whose command prints it (output_of)"
            )
            continue
        key = str(project) if project is not None else f"line-{block.line}"
        example = examples.setdefault(key, Example(name, key))
        example.blocks.append(block)
        example.merge(block, directive)
    for example in examples.values():
        for other in example.settings.pop("with", []):
            if other not in examples:
                example.problems.append(f"{example.id}: 'with' names no project {other!r}")
                continue
            for block in examples[other].blocks:
                if block.kind != "text":
                    example.context.append(block)
                    example.merge(block, block.directive or {}, context=True)
    return list(examples.values()), problems


def all_examples() -> tuple[list[Example], list[str]]:
    examples: list[Example] = []
    problems: list[str] = []
    for page in pages():
        found, page_problems = page_examples(page)
        examples += found
        problems += page_problems
    return examples, problems


def steps_of(settings: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """``run`` as (command, expect, output) triples; top-level expect/output go to the last."""
    run = settings.get("run")
    items = [run] if isinstance(run, str | dict) else list(run or [])
    for index, item in enumerate(items):
        last = index == len(items) - 1
        if isinstance(item, str):
            item = {"cmd": item}
        expect = dict(item.get("expect") or {})
        output = list(item.get("output") or [])
        if last:
            expect.update(settings.get("expect") or {})
            output += list(settings.get("output") or [])
        yield str(item["cmd"]), expect, output
