"""A case file reaches only files inside the project: ``include`` and ``$ref`` through
``..``, absolute paths and symlinks are refused in one line that quotes nothing read."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from llmtest.cases import load_suite
from llmtest.config.boundary import ProjectBoundary
from llmtest.errors import CaseFileError

SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (with its pyproject.toml) inside a folder holding a ``.env``."""
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n", encoding="utf-8")
    (tmp_path / "outside.llm.yaml").write_text("cases: [{id: o, prompt: hi}]\n", "utf-8")
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.llmtest]\n", encoding="utf-8")
    return root


def write_suite(folder: Path, text: str) -> Path:
    path = folder / "test_suite.llm.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def schema_suite(project: Path, ref: str) -> Path:
    """A suite whose one case checks the answer against ``{$ref: ref}`` (on line 5)."""
    return write_suite(
        project / "tests",
        f"""
        cases:
          - id: schema
            prompt: hi
            assert:
              - json_schema: {{$ref: {json.dumps(ref)}}}
        """,
    )


def load_error(path: Path, root: Path | None = None) -> str:
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(path, "test_suite.llm.yaml", root)
    return str(excinfo.value)


@pytest.mark.parametrize("target", ["../../outside.llm.yaml", "{tmp}/outside.llm.yaml"])
def test_an_include_outside_the_project_is_refused(project: Path, target: str) -> None:
    written = target.format(tmp=project.parent)
    path = write_suite(project / "tests", f"include: [{json.dumps(written)}]\ncases: []\n")
    outside = project.parent / "outside.llm.yaml"
    assert load_error(path) == (
        f"test_suite.llm.yaml:1: field 'include[0]': cannot include {written!r} resolves to "
        f"{outside}, outside the project ({project}); case files, include and $ref reach "
        "only files inside it"
    )


def test_a_symlink_inside_the_project_to_a_file_outside_is_refused(project: Path) -> None:
    (project / "tests" / "shared.llm.yaml").symlink_to(project.parent / "outside.llm.yaml")
    path = write_suite(project / "tests", "include: [shared.llm.yaml]\ncases: []\n")
    assert "outside the project" in load_error(path)


def test_a_suite_that_links_to_a_file_outside_the_project_is_refused(project: Path) -> None:
    suite = project / "tests" / "test_planted.llm.yaml"
    suite.symlink_to(project.parent / "outside.llm.yaml")
    with pytest.raises(CaseFileError) as excinfo:
        load_suite(suite, "tests/test_planted.llm.yaml")
    assert str(excinfo.value) == (
        "tests/test_planted.llm.yaml: cannot load the suite: 'tests/test_planted.llm.yaml' "
        f"resolves to {project.parent / 'outside.llm.yaml'}, outside the project ({project}); "
        "case files, include and $ref reach only files inside it"
    )


def test_a_suite_named_from_outside_the_project_is_its_own_project(project: Path) -> None:
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "shared.llm.yaml").write_text("cases: [{id: s, prompt: hi}]\n", "utf-8")
    suite = write_suite(elsewhere, "include: [shared.llm.yaml]\ncases: []\n")
    assert [c.id for c in load_suite(suite, root=project).cases] == ["shared/s"]


def test_an_include_of_a_file_that_is_not_a_case_file_names_the_including_line(
    project: Path,
) -> None:
    (project / "tests" / "notes.txt").write_text(f"key {SECRET}\n", encoding="utf-8")
    path = write_suite(project / "tests", "cases: []\ninclude:\n  - notes.txt\n")
    assert load_error(path) == (
        "test_suite.llm.yaml:3: field 'include[0]': cannot include 'notes.txt': not a case "
        "file (an included file is .yaml, .yml, .jsonl, .csv)"
    )


def test_an_include_inside_the_project_above_the_suite_loads(project: Path) -> None:
    (project / "shared.llm.yaml").write_text("cases: [{id: s, prompt: hi}]\n", "utf-8")
    path = write_suite(project / "tests", "include: [../shared.llm.yaml]\ncases: []\n")
    assert [c.id for c in load_suite(path).cases] == ["shared/s"]


def test_the_run_root_widens_the_project_to_what_pytest_calls_its_rootdir(
    project: Path,
) -> None:
    # A nested package with its own pyproject.toml, in a repository whose root is the
    # rootdir: a shared library at the repository's root is part of the project.
    nested = project / "tests" / "pkg"
    nested.mkdir()
    (nested / "pyproject.toml").write_text("", encoding="utf-8")
    (project / "library.llm.yaml").write_text("cases: [{id: l, prompt: hi}]\n", "utf-8")
    path = write_suite(nested, "include: [../../library.llm.yaml]\ncases: []\n")
    assert "outside the project" in load_error(path)
    assert [c.id for c in load_suite(path, root=project).cases] == ["library/l"]


@pytest.mark.parametrize("ref", ["../../.env", "{tmp}/.env", "/etc/passwd"])
def test_a_ref_outside_the_project_is_refused_without_reading_it(project: Path, ref: str) -> None:
    written = ref.format(tmp=project.parent)
    message = load_error(schema_suite(project, written))
    assert message.startswith(
        "test_suite.llm.yaml:5: case 'schema': assertion 'json_schema' cannot load $ref: "
        f"{written!r} resolves to "
    )
    assert "outside the project" in message and SECRET not in message


@pytest.mark.parametrize(
    ("name", "contents"),
    [
        (".env", f"OPENAI_API_KEY={SECRET}\n"),
        ("secrets.json", json.dumps({"type": SECRET})),
        ("broken.json", f'{{"key": "{SECRET}" oops'),
        ("broken.yaml", f"key: [{SECRET}\n"),
        ("list.yaml", f"- {SECRET}\n"),
    ],
)
def test_a_bad_file_inside_the_project_is_named_and_never_quoted(
    project: Path, name: str, contents: str
) -> None:
    (project / "tests" / name).write_text(contents, encoding="utf-8")
    message = load_error(schema_suite(project, name))
    assert message.startswith(
        f"test_suite.llm.yaml:5: case 'schema': assertion 'json_schema' cannot load $ref {name!r}: "
    )
    assert str(project / "tests" / name) in message
    assert SECRET not in message and "sk-live" not in message


def test_a_ref_inside_the_project_loads(project: Path) -> None:
    schemas = project / "schemas"
    schemas.mkdir()
    (schemas / "order.json").write_text(json.dumps({"type": "object"}), encoding="utf-8")
    path = write_suite(
        project / "tests",
        """
        cases:
          - id: schema
            prompt: hi
            assert:
              - json_schema: {$ref: ../schemas/order.json}
        """,
    )
    assert [c.id for c in load_suite(path).cases] == ["schema"]


def test_without_a_pyproject_or_a_root_the_suites_folder_is_the_project(
    tmp_path: Path,
) -> None:
    boundary = ProjectBoundary.for_suite(tmp_path / "test_x.llm.yaml")
    assert boundary.folders == (tmp_path.resolve(),)
    assert boundary.contains(tmp_path / "sub" / "file.yaml")
    assert not boundary.contains(tmp_path / ".." / "file.yaml")
