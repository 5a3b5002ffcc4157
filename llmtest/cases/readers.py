"""Read YAML, JSONL and CSV case files into plain data that remembers its line numbers."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmtest.assertions.base import AssertionType
from llmtest.errors import CaseFileError

PathKey = tuple[str | int, ...]

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """YAML's safe loader, but ``.nan`` and ``.inf`` are refused where they are written: a
    NaN passes every bound of the schema (no comparison with it is true) and then breaks
    verdicts, results files and the history."""


def _finite_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    value = float(yaml.SafeLoader.construct_yaml_float(loader, node))
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a finite number, got {node.value}", node.start_mark
        )
    return value


_YamlLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


def _refuse_constant(name: str) -> Any:
    """JSON's NaN, Infinity and -Infinity, which Python's json reads and the format has not."""
    raise ValueError(f"expected a finite number, got {name}")


_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


@dataclass
class RawCase:
    data: dict[str, Any]
    lines: dict[PathKey, int]
    line: int
    column_prefix: PathKey = ()

    def line_of(self, path: PathKey) -> int:
        """The line of the deepest part of ``path`` we know, else the case's own line."""
        full = (*self.column_prefix, *path)
        for end in range(len(full), 0, -1):
            if full[:end] in self.lines:
                return self.lines[full[:end]]
        return self.line


@dataclass
class RawSuite:
    """A file's suite-level settings and its cases, still unvalidated."""

    path: Path
    settings: dict[str, Any]
    cases: list[RawCase]
    lines: dict[PathKey, int] = field(default_factory=dict)
    is_document: bool = False

    def line_of(self, path: PathKey) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def read_suite(
    path: Path, display: str, types: Mapping[str, AssertionType] | None = None
) -> RawSuite:
    """``types`` are the assertion types a CSV file's columns may name (by default, every
    installed one): each says whether its cell may be a bare number."""
    suffix = path.suffix.lower()
    try:
        # utf-8-sig: Excel's "CSV UTF-8" (and some editors) start the file with a BOM.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(display, f"cannot read case file: {exc}") from None
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, display, text)
    if suffix == ".jsonl":
        return _read_jsonl(path, display, text)
    if suffix == ".csv":
        if types is None:
            from llmtest.plugins.registry import assertion_types  # only CSV needs the plugins

            types = assertion_types()
        return _read_csv(path, display, text, types)
    raise CaseFileError(display, f"unsupported case file type {suffix!r} (yaml, jsonl or csv)")


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, int | None]:
    """The message and line of a YAML syntax error. The parser stops where it gives up,
    which for an unclosed quote or bracket is the end of the file; the line where the
    construct it was reading began is then the one to look at."""
    problem, context = exc.problem_mark, exc.context_mark
    last_line = len(text.splitlines())
    at_end = problem is not None and (
        problem.line + 1 > last_line or "end of stream" in str(exc.problem)
    )
    mark = context if context is not None and (problem is None or at_end) else problem
    line = mark.line + 1 if mark is not None else None
    if exc.context and context is not None:
        message = f"invalid YAML: {exc.context} (line {context.line + 1}): {exc.problem}"
    else:
        message = f"invalid YAML: {exc.problem or exc.context}"
    return message, line


def _read_yaml(path: Path, display: str, text: str) -> RawSuite:
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise CaseFileError(display, *_yaml_problem(exc, text)) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(display, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None or node is None:
        raise CaseFileError(display, "the file is empty; expected a mapping with 'cases'")
    if isinstance(data, list):
        data = {"cases": data}
        lines: dict[PathKey, int] = {}
        _record_lines(node, ("cases",), lines, display)
    elif isinstance(data, dict):
        lines = {}
        _record_lines(node, (), lines, display)
    else:
        raise CaseFileError(
            display,
            f"expected a mapping with 'cases' at the top, got {type(data).__name__}",
            line=1,
        )
    cases = data.get("cases")
    raw_cases = []
    if isinstance(cases, list):
        for index, item in enumerate(cases):
            line = lines.get(("cases", index), 1)
            if isinstance(item, dict):
                raw_cases.append(RawCase(item, lines, line, column_prefix=("cases", index)))
    return RawSuite(path, data, raw_cases, lines, is_document=True)


def _record_lines(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], display: str) -> None:
    """Remember where each key and item starts, so errors can name a line."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise CaseFileError(
                    display, f"duplicate key {key!r} (first at line {seen[key]})", line=line
                )
            seen[key] = line
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines, display)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, display)


def _read_jsonl(path: Path, display: str, text: str) -> RawSuite:
    settings: dict[str, Any] = {}
    cases: list[RawCase] = []
    no_lines: dict[PathKey, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        try:
            data = _JSON.decode(stripped)
        except json.JSONDecodeError as exc:
            raise CaseFileError(
                display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number
            ) from None
        except ValueError as exc:
            raise CaseFileError(display, str(exc), line=number) from None
        except RecursionError:
            raise CaseFileError(display, "the line nests too deeply", line=number) from None
        if not isinstance(data, dict):
            raise CaseFileError(
                display, f"expected a JSON object per line, got {type(data).__name__}", line=number
            )
        if set(data) == {"suite"} and isinstance(data["suite"], dict):
            if cases or settings:
                raise CaseFileError(display, "the 'suite' line must come first", line=number)
            settings = data["suite"]
            continue
        cases.append(RawCase(data, no_lines, number))
    return RawSuite(path, settings, cases)


_CSV_LIST_COLUMNS = {"tags"}
_CSV_NUMBER_COLUMNS = {"repeat": int, "min_pass_rate": float}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_CSV_CASE_COLUMNS = {
    "id",
    "prompt",
    "input",
    "system",
    "model",
    "description",
    "skip",
    "expected_contains",
    "expected_not_contains",
    "expected_format",
}


def _read_csv(path: Path, display: str, text: str, types: Mapping[str, AssertionType]) -> RawSuite:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise CaseFileError(display, "the CSV file has no header row", line=1)
    if len(reader.fieldnames) == 1:
        (header,) = reader.fieldnames
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
            if delimiter in header:
                raise CaseFileError(
                    display,
                    f"the header row {header!r} is one column: case files are comma-separated "
                    f"and this one seems to use {name}",
                    line=1,
                )
    cases: list[RawCase] = []
    line = 1
    for row in reader:
        start = line + 1
        line = reader.line_num
        cases.append(_csv_case(row, display, start, types))
    return RawSuite(path, {}, cases)


def _csv_case(
    row: dict[str, Any], display: str, line: int, types: Mapping[str, AssertionType]
) -> RawCase:
    """One row: known columns become case fields, ``vars.x`` columns become vars, and any
    other column is an assertion whose cell is its argument (JSON when it looks like JSON)."""
    data: dict[str, Any] = {}
    assertions: list[dict[str, Any]] = []
    variables: dict[str, Any] = {}
    case_id = (row.get("id") or "").strip() or None

    def bad_cell(column: str, message: str) -> CaseFileError:
        return CaseFileError(display, message, line=line, case_id=case_id, field=column)

    for column, cell in row.items():
        if column is None:
            raise CaseFileError(
                display, "the row has more cells than the header has columns", line=line
            )
        if cell is None or cell == "":
            continue
        name = column.strip()
        if name in _CSV_LIST_COLUMNS:
            data[name] = [t.strip() for t in cell.split(",") if t.strip()]
        elif name in _CSV_NUMBER_COLUMNS:
            try:
                data[name] = _CSV_NUMBER_COLUMNS[name](cell)
            except ValueError:
                raise bad_cell(name, f"expected a number, got {cell!r}") from None
            if not math.isfinite(data[name]):
                raise bad_cell(name, f"expected a finite number, got {cell!r}")
        elif name.startswith(("vars.", "var:")):
            variables[name.split(".", 1)[-1].split(":", 1)[-1]] = cell
        elif name in _CSV_CASE_COLUMNS and not name.startswith("expected_"):
            data[name] = cell
        elif _NUMBER.fullmatch(cell.strip()) and name in types and types[name].number_argument:
            # A bound's one-cell argument: ``200`` in the cell is the number 200.
            number = float(cell)
            assertions.append({name: int(number) if number.is_integer() else number})
        else:
            try:
                value = _cell_value(cell)
            except json.JSONDecodeError as exc:
                raise bad_cell(
                    name,
                    f"the cell {cell.strip()!r} is not valid JSON "
                    f"({exc.msg} at character {exc.pos + 1})",
                ) from None
            if name in _CSV_CASE_COLUMNS:  # seed style: expected_contains, expected_format, ...
                data[name] = value
            else:
                assertions.append({name: value})
    if variables:
        data["vars"] = variables
    if assertions:
        data["assert"] = assertions
    return RawCase(data, {}, line)


def _cell_value(cell: str) -> Any:
    """A cell as JSON when it is JSON; text otherwise. A cell that is plainly meant as JSON
    (brackets around quoted strings) but does not parse raises, rather than become text to
    look for."""
    text = cell.strip()
    if text[:1] in "[{" or text in ("true", "false", "null"):
        try:
            return _JSON.decode(text)
        except json.JSONDecodeError:
            if text[-1:] in "]}" and '"' in text:
                raise
            return cell
    return cell
