"""The layout's contract (docs/design.md): the library never imports pytest, and each
folder of llmtest/ imports at module level only from the folders before it in this order,
so there is no import circle and a reader can take the folders one at a time."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ORDER = (
    "errors",
    "_gc",
    "config",
    "_text",
    "plugins",
    "adapters",
    "assertions",
    "cases",
    "results",
    "engine",
    "reports",
    "compare",
    "production",
    "commands",
)
"""A folder (or top-level module) of llmtest/ and, before it, everything it may import."""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / "llmtest").rglob("*.py")):
        parts = path.relative_to(ROOT / "llmtest").with_suffix("").parts
        yield parts[0], path


def _imported(tree: ast.AST, *, module_level: bool) -> Iterator[str]:
    nodes = ast.walk(tree) if not module_level else _module_level(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _module_level(tree: ast.AST) -> Iterator[ast.AST]:
    """Statements that run on import (not function bodies, not ``if TYPE_CHECKING:``)."""
    assert isinstance(tree, ast.Module)
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                pending.append(child)


def test_the_library_never_imports_pytest() -> None:
    for _, path in _modules():
        imported = set(_imported(ast.parse(path.read_text()), module_level=False))
        assert not {m for m in imported if m == "pytest" or m.startswith("_pytest")}, path


@pytest.mark.parametrize("folder", [f for f in IMPORT_ORDER if f != "errors"])
def test_a_folder_imports_only_the_folders_before_it(folder: str) -> None:
    allowed = set(IMPORT_ORDER[: IMPORT_ORDER.index(folder) + 1])
    for top, path in _modules():
        if top.removesuffix(".py") != folder:
            continue
        for name in _imported(ast.parse(path.read_text()), module_level=True):
            parts = name.split(".")
            if parts[0] != "llmtest" or len(parts) < 2 or parts[1] == "__version__":
                continue
            assert parts[1] in allowed, f"{path.relative_to(ROOT)} imports {name}"


def test_every_folder_has_its_place_in_the_order() -> None:
    folders = {top for top, _ in _modules()} - {"__init__", "__main__", "library"}
    assert folders <= set(IMPORT_ORDER), folders - set(IMPORT_ORDER)
