"""Read YAML, JSONL and CSV case files into plain data that remembers its line numbers."""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from llmtest.assertions.base import AssertionType
from llmtest.config.limits import (
    DEPTH_PROBLEM,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_TEXT_CHARS,
    MAX_VALUES,
    field_of,
    may_nest_too_deeply,
    too_deep,
)
from llmtest.errors import CaseFileError

PathKey = tuple[str | int, ...]

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """YAML's safe loader, but ``.nan`` and ``.inf`` are refused where they are written: a
    NaN passes every bound of the schema (no comparison with it is true) and then breaks
    verdicts, results files and the history."""


class _NonFinite:
    """Where a NaN or an infinity was written: found again after reading, so the error can
    name the case and the field, not only the line."""

    def __init__(self, written: str) -> None:
        self.written = written


def _finite_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float | _NonFinite:
    value = float(yaml.SafeLoader.construct_yaml_float(loader, node))
    if not math.isfinite(value):
        loader.non_finite = True  # type: ignore[attr-defined]
        return _NonFinite(str(node.value))
    return value


_YamlLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


def _refuse_constant(name: str) -> Any:
    """JSON's NaN, Infinity and -Infinity, which Python's json reads and the format has not."""
    raise ValueError(f"expected a finite number, got {name}")


_JSON = json.JSONDecoder(parse_constant=_refuse_constant)
_LOCATING_JSON = json.JSONDecoder(parse_constant=_NonFinite)


def _same(line: int, path: PathKey) -> int:
    """A JSONL line's every field is on that line."""
    return line


def _non_finite_path(value: Any) -> tuple[PathKey, str] | None:
    """The path to the first NaN or infinity in ``value`` (depth already bounded), and how
    it was written."""
    pending: list[tuple[Any, PathKey]] = [(value, ())]
    while pending:
        item, path = pending.pop()
        if isinstance(item, _NonFinite):
            return path, item.written
        if isinstance(item, dict):
            pending.extend((v, (*path, k)) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            pending.extend((v, (*path, i)) for i, v in reversed(list(enumerate(item))))
    return None


def _non_finite_error(
    display: str, data: Any, line_of: Callable[[PathKey], int | None]
) -> CaseFileError:
    """The error for the NaN or infinity in ``data`` (a document: settings and ``cases``):
    file, line, case and field."""
    found = _non_finite_path(data)
    path, written = found if found is not None else ((), "NaN")
    case_id = None
    field_path: PathKey = path
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        case = data["cases"][path[1]]
        written_id = case.get("id") if isinstance(case, dict) else None
        case_id = written_id if isinstance(written_id, str) else None
        field_path = path[2:]
    return CaseFileError(
        display,
        f"expected a finite number, got {written}",
        line=line_of(path),
        case_id=case_id,
        field=field_of(field_path),
    )


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
    installed one): each says whether its cell may be a bare number.

    A file over a limit of llmtest/config/limits.py (its size, how deeply it nests, what
    its YAML aliases expand to) is refused before the work it would cost, in one line."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".jsonl", ".csv"):
        raise CaseFileError(display, f"unsupported case file type {suffix!r} (yaml, jsonl or csv)")
    text = _read_text(path, display)
    if suffix == ".jsonl":
        return _read_jsonl(path, display, text)
    if suffix == ".csv":
        if types is None:
            from llmtest.plugins.registry import assertion_types  # only CSV needs the plugins

            types = assertion_types()
        return _read_csv(path, display, text, types)
    return _read_yaml(path, display, text)


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
"""O_NONBLOCK: a pipe put in a file's place between the stat and the open must not hang
the open (on a regular file the flag does nothing)."""


def _read_text(path: Path, display: str) -> str:
    """The file's text, once it is known to be a regular file within the size limit: a
    device (``/dev/zero``) or a pipe would never end, and a huge file would be read whole.
    Checked by ``stat`` before the file is opened, and again on what was opened."""
    try:
        _check_file(os.stat(path), display)
        fd = os.open(path, _OPEN_FLAGS)
        with open(fd, "rb") as opened:
            _check_file(os.fstat(fd), display)
            data = opened.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CaseFileError(display, f"cannot read case file: {exc}") from None
    if len(data) > MAX_FILE_BYTES:  # it grew after the stat
        raise CaseFileError(display, _too_big(len(data)))
    try:
        # utf-8-sig: Excel's "CSV UTF-8" (and some editors) start the file with a BOM.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseFileError(display, f"cannot read case file: {exc}") from None
    # Line ends as a file opened as text reads them (universal newlines).
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _check_file(info: os.stat_result, display: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise CaseFileError(display, "cannot read case file: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise CaseFileError(display, _too_big(info.st_size))


def _too_big(size: int) -> str:
    return (
        f"cannot read case file: it is {size:,} bytes, more than the limit of "
        f"{MAX_FILE_BYTES:,} ({MAX_FILE_BYTES // 2**20} MiB)"
    )


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
        try:
            node = loader.get_single_node()
        except RecursionError:  # PyYAML's own composer; libyaml stops at 1,000 levels itself
            raise CaseFileError(display, DEPTH_PROBLEM) from None
        if node is None:
            raise CaseFileError(display, "the file is empty; expected a mapping with 'cases'")
        # A list at the top is the cases. Lines, duplicate keys and the limits are all
        # checked on the composed nodes, where an alias is still one shared node: built,
        # a bomb would already be in memory, and merge keys would have rewritten mappings.
        top: PathKey = ("cases",) if isinstance(node, yaml.SequenceNode) else ()
        # Nodes are shared only through an alias (``*name``) of an anchor (``&name``).
        lines = _YamlWalk(node, top, display, shared="&" in text and "*" in text).lines
        data = loader.construct_document(node)
        if getattr(loader, "non_finite", False):
            whole = {"cases": data} if isinstance(data, list) else data

            def line_of(path: PathKey) -> int | None:
                for end in range(len(path), 0, -1):
                    if path[:end] in lines:
                        return lines[path[:end]]
                return None

            raise _non_finite_error(display, whole, line_of)
    except yaml.MarkedYAMLError as exc:
        raise CaseFileError(display, *_yaml_problem(exc, text)) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(display, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise CaseFileError(display, "the file is empty; expected a mapping with 'cases'")
    if isinstance(data, list):
        data = {"cases": data}
    elif not isinstance(data, dict):
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


_MERGE = "tag:yaml.org,2002:merge"
_EXIT = object()
"""Marks a walk's entry that closes a list or mapping (its children are all measured)."""
_WALKING = (-1, -1, -1)
"""The measure of a list or mapping while its children are walked."""


class _YamlWalk:
    """One pass over a composed YAML document, before anything is constructed, that

    * remembers where each key and item starts (``lines``), so errors can name a line;
    * refuses a key written twice in one mapping; a merge key's (``<<: *base``) keys are
      not duplicates: the mapping's own keys override them, as YAML's merge says;
    * refuses an anchor used inside itself (``&a [*a]``), and a document that nests
      deeper than :data:`MAX_DEPTH` or expands to more than :data:`MAX_VALUES` values or
      :data:`MAX_TEXT_CHARS` characters.

    An alias is the very node its anchor names, so each list and mapping is measured once
    (values, characters, height) and each alias adds the measure: a "billion laughs" is
    refused after a few dozen nodes, never expanded. Lines are recorded along the first
    path that reaches a node; an alias's path records only its own line (its errors name
    where the alias is written), so recording costs nothing for the nodes an alias
    repeats. Iterative: a document too deep for Python's stack is the one to refuse.
    """

    def __init__(self, root: yaml.Node, top: PathKey, display: str, shared: bool) -> None:
        self.root, self.top, self.display = root, top, display
        self.lines: dict[PathKey, int] = {}
        # Per list or mapping: (values, characters, height) by node identity; _WALKING
        # while it is being walked, so that an alias inside it is seen to be recursive.
        self.measured: dict[yaml.Node, tuple[int, int, int]] = {}
        self._walk(shared)

    def _walk(self, shared: bool) -> None:
        lines, measured, display = self.lines, self.measured, self.display
        scalar, mapping, merge, exit_, walking = (
            yaml.ScalarNode,
            yaml.MappingNode,
            _MERGE,
            _EXIT,
            _WALKING,
        )
        root = self.root
        lines[self.top] = root.start_mark.line + 1
        total_values = 1  # in a tree, every node counted once
        total_chars = 0
        # (node, path, line, depth): each entry's path already has its line, the key's or
        # the item's. An _EXIT entry closes a list or mapping whose children are measured.
        pending: list[tuple[Any, ...]] = [(root, self.top, lines[self.top], 1)]
        while pending:
            entry = pending.pop()
            if entry[0] is exit_:  # every child measured: measure the node
                _, node, _, _, values, chars, members = entry
                height = 0
                for child, _, _, _ in members:
                    child_values, child_chars, child_height = measured[child]
                    values += child_values - 1  # the node counted it as one value
                    chars += child_chars
                    if child_height > height:
                        height = child_height
                if values > MAX_VALUES or chars > MAX_TEXT_CHARS:
                    _, _, path, line, values, chars, _ = entry
                    self._over(node, path, line, values, chars, members)
                measured[node] = (values, chars, height + 1)
                continue
            node, path, line, depth = entry
            if isinstance(node, scalar):  # only the root: children are counted inline
                if len(node.value) > MAX_TEXT_CHARS:
                    self._over(node, path, line, 1, len(node.value), [])
                continue
            if shared:
                known = measured.get(node)
                if known is walking:  # it is around this alias
                    anchor = node.start_mark.line + 1
                    problem = (
                        f"recursive alias: the value anchored at line {anchor} contains itself"
                    )
                    self._fail(problem, path, line)
                if known is not None:  # an alias of a node already measured
                    if depth - 1 + known[2] > MAX_DEPTH:
                        self._fail(DEPTH_PROBLEM, path, line)
                    continue
                measured[node] = walking
            if depth > MAX_DEPTH:
                self._fail(DEPTH_PROBLEM, path, line)
            depth += 1  # the children's
            # The node and each key and item are one value each; a list or mapping among
            # them adds the values it holds when it is measured.
            is_mapping = isinstance(node, mapping)
            values = 1 + len(node.value) * (2 if is_mapping else 1)
            chars = 0
            children: list[tuple[yaml.Node, PathKey | None, int, int]] = []
            if is_mapping:
                seen: dict[str, int] = {}
                merged: list[tuple[yaml.Node, int]] | None = None
                for key_node, value_node in node.value:
                    child_path: PathKey | None = None
                    key_line = key_node.start_mark.line + 1
                    if isinstance(key_node, scalar):
                        key = key_node.value
                        chars += len(key)
                        if key in seen:
                            problem = f"duplicate key {key!r} (first at line {seen[key]})"
                            raise CaseFileError(display, problem, line=key_line)
                        seen[key] = key_line
                        if key_node.tag == merge:
                            merged = [*(merged or ()), (value_node, key_line)]
                        elif path is not None:
                            child_path = (*path, key)
                            lines[child_path] = key_line
                    else:  # a list or mapping as a key: construction refuses it, but count it
                        children.append((key_node, None, key_line, depth))
                    if isinstance(value_node, scalar):
                        chars += len(value_node.value)
                    else:
                        children.append((value_node, child_path, key_line, depth))
                if merged and path is not None:
                    self._record_merged(merged, seen, path)
            else:
                for index, item in enumerate(node.value):
                    item_line = item.start_mark.line + 1
                    item_path = None
                    if path is not None:
                        item_path = (*path, index)
                        lines[item_path] = item_line
                    if isinstance(item, scalar):
                        chars += len(item.value)
                    else:
                        children.append((item, item_path, item_line, depth))
            if not shared:  # a tree: each node is reached once, so its counts just add up
                total_values += values - 1
                total_chars += chars
                if total_values > MAX_VALUES or total_chars > MAX_TEXT_CHARS:
                    self._over(node, path, line, total_values, total_chars, [])
                pending.extend(reversed(children))
            elif children:
                pending.append((exit_, node, path, line, values, chars, children))
                pending.extend(reversed(children))
            else:  # a leaf: measured at once
                if chars > MAX_TEXT_CHARS or values > MAX_VALUES:
                    self._over(node, path, line, values, chars, [])
                measured[node] = (values, chars, 1)

    def _over(
        self,
        node: yaml.Node,
        path: PathKey | None,
        line: int,
        values: int,
        chars: int,
        children: list[tuple[yaml.Node, PathKey | None, int, int]],
    ) -> NoReturn:
        """Refuse the document at the child of a list or mapping (``node`` at ``path``,
        holding ``values`` and ``chars`` besides its ``children``' own) whose expansion
        takes it over a limit, or at the node itself when no one child does."""
        before: set[yaml.Node] = set()
        for child, child_path, child_line, _ in children:
            child_values, child_chars, _ = self.measured[child]
            values += child_values - 1
            chars += child_chars
            if values > MAX_VALUES or chars > MAX_TEXT_CHARS:
                # A key's line is where its value, alias or not, is written. An item that
                # is an alias starts where its anchor does: name the list's line instead.
                alias = child in before or child.start_mark.index < node.start_mark.index
                if isinstance(node, yaml.MappingNode) or not alias:
                    line = child_line
                path = child_path
                break
            before.add(child)
        if values > MAX_VALUES:
            what = f"{MAX_VALUES:,} values"
        else:
            what = f"{MAX_TEXT_CHARS:,} characters of text"
        self._fail(
            f"the file holds more than {what} once its aliases are expanded (the limit)",
            path,
            line,
        )

    def _record_merged(
        self, merged: list[tuple[yaml.Node, int]], own: dict[str, int], path: PathKey
    ) -> None:
        """The lines of the keys a mapping takes from its merge keys (``<<: *base``): where
        each merged value was written. The mapping's own keys override them; a key that
        more than one merged mapping holds gets the ``<<`` line (which of them wins has
        changed between PyYAML versions)."""
        found: dict[str, int] = {}
        visited: set[yaml.Node] = set()
        for value_node, merge_line in merged:
            pending = [value_node]
            while pending:
                source = pending.pop()
                if isinstance(source, yaml.SequenceNode):
                    pending.extend(source.value)
                    continue
                if not isinstance(source, yaml.MappingNode) or source in visited:
                    continue  # not a mapping: construction says so, at its line
                visited.add(source)
                for key_node, nested in source.value:
                    if not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = key_node.value
                    if key_node.tag == _MERGE:
                        pending.append(nested)
                    elif key not in own:
                        found[key] = merge_line if key in found else key_node.start_mark.line + 1
        for key, line in found.items():
            self.lines[(*path, key)] = line

    def _fail(self, message: str, path: PathKey | None, line: int) -> NoReturn:
        case_id, field_path = self._case_of(path)
        raise CaseFileError(
            self.display, message, line=line, case_id=case_id, field=field_of(field_path)
        )

    def _case_of(self, path: PathKey | None) -> tuple[str | None, PathKey]:
        """The case a path is in (its id when it has one written) and the path within."""
        if path is None:
            return None, ()
        if len(path) < 2 or path[0] != "cases" or not isinstance(path[1], int):
            return None, path
        cases: Any = self.root if self.top else _value_of(self.root, "cases")
        case = cases.value[path[1]] if isinstance(cases, yaml.SequenceNode) else None
        id_node = _value_of(case, "id")
        case_id = id_node.value if isinstance(id_node, yaml.ScalarNode) and id_node.value else None
        return case_id, path[2:]


def _value_of(node: Any, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


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
            try:
                located = _LOCATING_JSON.decode(stripped)
            except (ValueError, RecursionError):
                raise CaseFileError(display, str(exc), line=number) from None
            document = {"cases": [located]} if isinstance(located, dict) else located
            raise _non_finite_error(display, document, functools.partial(_same, number)) from None
        except RecursionError:
            raise CaseFileError(display, "the line nests too deeply", line=number) from None
        if not isinstance(data, dict):
            raise CaseFileError(
                display, f"expected a JSON object per line, got {type(data).__name__}", line=number
            )
        if may_nest_too_deeply(stripped):
            _check_depth(data, 1, display, number)
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
            # Where the value stands in the case, counted as in the JSONL line it would be:
            # a seed column's under the case, an assertion's under ``assert: [{name: ...}]``.
            depth = 2 if name in _CSV_CASE_COLUMNS else 4
            try:
                value = _cell_value(cell)
            except json.JSONDecodeError as exc:
                raise bad_cell(
                    name,
                    f"the cell {cell.strip()!r} is not valid JSON "
                    f"({exc.msg} at character {exc.pos + 1})",
                ) from None
            except RecursionError:
                raise bad_cell(name, DEPTH_PROBLEM) from None
            if may_nest_too_deeply(cell, depth) and too_deep(value, depth) is not None:
                raise bad_cell(name, DEPTH_PROBLEM)
            if name in _CSV_CASE_COLUMNS:  # seed style: expected_contains, expected_format, ...
                data[name] = value
            else:
                assertions.append({name: value})
    if variables:
        data["vars"] = variables
    if assertions:
        data["assert"] = assertions
    return RawCase(data, {}, line)


def _check_depth(data: dict[str, Any], depth: int, display: str, line: int) -> None:
    """Refuse a decoded line nested deeper than :data:`MAX_DEPTH`, naming its case and
    field; walked only when its text has that many brackets at all."""
    path = too_deep(data, depth)
    if path is not None:
        case_id = data.get("id")
        raise CaseFileError(
            display,
            DEPTH_PROBLEM,
            line=line,
            case_id=case_id if isinstance(case_id, str) else None,
            field=field_of(path),
        )


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
