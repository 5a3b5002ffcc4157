"""Turn a case file into validated, templated Cases with prepared assertion checks."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from llmtest._gc import gc_paused
from llmtest._text import has_controls
from llmtest.adapters.base import Message
from llmtest.assertions.base import AssertionType, BuildContext
from llmtest.cases.files import CASE_SUFFIXES
from llmtest.cases.model import AssertionSpec, Case, Suite
from llmtest.cases.readers import PathKey, RawCase, RawSuite, read_suite
from llmtest.cases.schema import (
    case_validator,
    first_problem,
    format_path,
    settings_validator,
    suite_validator,
)
from llmtest.cases.templating import UnknownVariable, render, render_value
from llmtest.config.boundary import ProjectBoundary
from llmtest.errors import AssertionSpecError, CaseFileError
from llmtest.plugins.registry import assertion_types

LIBRARY_PREFIX = "llmtest:"
_SEED_ASSERTIONS = (
    ("expected_contains", "contains"),
    ("expected_not_contains", "not_contains"),
    ("schema", "json_schema"),
)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class _Inherited:
    """Settings an including suite hands down to the cases of the files it includes."""

    model: str | None = None
    system: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    assertions: list[_DefaultAssertion] = field(default_factory=list)
    repeat: int | None = None
    min_pass_rate: float | None = None
    id_prefix: str = ""

    def merged(self, raw: RawSuite, display: str) -> _Inherited:
        """This scope with a file's own settings and defaults on top, for its cases."""
        settings = raw.settings
        defaults = settings.get("defaults", {})
        own_assertions = [
            _DefaultAssertion(item, display, raw, ("defaults", "assert", i))
            for i, item in enumerate(defaults.get("assert", []))
        ]
        return _Inherited(
            model=settings.get("model", self.model),
            system=settings.get("system", self.system),
            vars={**self.vars, **settings.get("vars", {}), **defaults.get("vars", {})},
            tags=_merge_tags(self.tags, settings.get("tags", []), defaults.get("tags", [])),
            params={**self.params, **settings.get("params", {}), **defaults.get("params", {})},
            assertions=[*self.assertions, *own_assertions],
            repeat=defaults.get("repeat", self.repeat),
            min_pass_rate=defaults.get("min_pass_rate", self.min_pass_rate),
            id_prefix=self.id_prefix,
        )

    def for_include(self, included: Path) -> _Inherited:
        """What the included file's cases inherit: all of this, their ids prefixed."""
        return replace(
            self,
            vars=dict(self.vars),
            tags=list(self.tags),
            params=dict(self.params),
            assertions=list(self.assertions),
            id_prefix=f"{self.id_prefix}{_include_name(included)}/",
        )


@dataclass(frozen=True)
class _DefaultAssertion:
    """An assertion of a file's ``defaults``: its errors name that file and line."""

    item: Any
    display: str
    raw: RawSuite
    path: PathKey

    def error(self, message: str, case_id: str) -> CaseFileError:
        return CaseFileError(
            self.display, message, line=self.raw.line_of(self.path), case_id=case_id
        )


class _CaseAt(NamedTuple):
    """Where a case stands, so each of its errors names the file, line, case and field."""

    display: str
    raw_case: RawCase
    case_id: str

    def error(
        self, message: str, path: PathKey = (), field_name: str | None = None
    ) -> CaseFileError:
        return CaseFileError(
            self.display,
            message,
            line=self.raw_case.line_of(path),
            case_id=self.case_id,
            field=field_name,
        )


def display_path(path: Path, root: Path) -> str:
    """A suite's name in results and messages: its path relative to the project root."""
    resolved, base = path.resolve(), root.resolve()
    return (
        resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else path.as_posix()
    )


def load_suite(path: Path | str, display: str | None = None, root: Path | None = None) -> Suite:
    """Load one case file (and what it includes).

    ``display`` is the suite's name in results and messages, usually the path relative to
    the project root. ``include`` and ``$ref`` reach only files inside the project: the
    folder of the nearest pyproject.toml and ``root`` (see
    :class:`~llmtest.config.boundary.ProjectBoundary`). Raises :class:`CaseFileError`
    naming file, line, case and field.
    """
    path = Path(path)
    name = display or path.as_posix()
    boundary = ProjectBoundary.for_suite(path, root)
    if not boundary.contains(path):  # a link planted in the project, to a file outside it
        raise CaseFileError(name, f"cannot load the suite: {boundary.outside(name, path)}")
    loader = _SuiteLoader(name, assertion_types(), boundary)
    # Every object built here lives as long as the suite: the cyclic collector would only
    # scan them again and again while they are being built (see llmtest/_gc.py).
    with gc_paused(freeze=False):
        cases = loader.load(path, name, _Inherited(), stack=())
    suite_hash = hashlib.sha256("".join(c.hash for c in cases).encode()).hexdigest()[:16]
    return Suite(
        path=name,
        cases=tuple(cases),
        model=loader.model,
        hash=suite_hash,
        model_line=loader.model_line,
    )


class _SuiteLoader:
    def __init__(
        self, suite_name: str, types: Mapping[str, AssertionType], boundary: ProjectBoundary
    ) -> None:
        self.suite_name = suite_name
        self.types = types
        self.boundary = boundary
        self.model: str | None = None
        self.model_line: int | None = None
        self.seen_ids: dict[str, tuple[str, int]] = {}

    def load(
        self, path: Path, display: str, inherited: _Inherited, stack: tuple[Path, ...]
    ) -> list[Case]:
        raw = read_suite(path, display, self.types)
        self._validate_settings(raw, display)
        scope = inherited.merged(raw, display)
        if not stack:
            self.model = scope.model
            self.model_line = raw.line_of(("model",))
        context = BuildContext(path.parent, self.boundary)
        cases = [self._case(raw_case, raw, display, scope, context) for raw_case in raw.cases]
        for target, included in _includes(raw, path, display, stack, self.boundary):
            child_stack = (*stack, path.resolve())
            child_display = _include_display(target, included)
            cases.extend(
                self.load(included, child_display, scope.for_include(included), child_stack)
            )
        return cases

    def _validate_settings(self, raw: RawSuite, display: str) -> None:
        if raw.is_document:
            problem = first_problem(suite_validator(), raw.settings)
            if problem is not None:
                self._raise_problem(problem.path, problem.message, raw, display)
        elif raw.settings:
            problem = first_problem(settings_validator(), raw.settings)
            if problem is not None:
                line = raw.cases[0].line - 1 if raw.cases else 1
                raise CaseFileError(
                    display, problem.message, line=max(line, 1), field=problem.field
                )

    def _raise_problem(self, path: PathKey, message: str, raw: RawSuite, display: str) -> None:
        line = raw.line_of(path)
        case_id = None
        field_path: PathKey = path
        if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
            case_data = raw.settings["cases"][path[1]]
            if isinstance(case_data, Mapping):
                case_id = _explicit_id(case_data)
            field_path = path[2:]
        raise CaseFileError(
            display, message, line=line, case_id=case_id, field=format_path(field_path) or None
        )

    def _case(
        self,
        raw_case: RawCase,
        raw: RawSuite,
        display: str,
        scope: _Inherited,
        context: BuildContext,
    ) -> Case:
        data = raw_case.data
        if not raw.is_document:
            _validate_case(raw_case, display)
        prompt = data.get("prompt", data.get("input"))
        at = _CaseAt(
            display, raw_case, scope.id_prefix + (data.get("id") or _generated_id(prompt, data))
        )
        self._claim_id(at)
        variables = {**scope.vars, **data.get("vars", {})}
        system_text = data.get("system", scope.system)
        variables.setdefault("system", system_text or "")
        messages = _case_messages(data, prompt, system_text, variables, at)
        specs = self._assertions(data, scope, variables, context, at)
        params = {**scope.params, **data.get("params", {})}
        repeat = int(data.get("repeat", scope.repeat or 1))
        default_rate = scope.min_pass_rate if scope.min_pass_rate is not None else 1.0
        min_pass_rate = float(data.get("min_pass_rate", default_rate))
        skip = data.get("skip")
        return Case(
            id=at.case_id,
            suite=self.suite_name,
            messages=tuple(messages),
            assertions=tuple(specs),
            hash=_case_hash(messages, specs, params, repeat, min_pass_rate),
            tags=tuple(_merge_tags(scope.tags, data.get("tags", []))),
            model=data.get("model", scope.model),
            params=params,
            repeat=repeat,
            min_pass_rate=min_pass_rate,
            line=raw_case.line,
            skip=(skip if isinstance(skip, str) else "skipped in the case file") if skip else None,
            description=data.get("description"),
            metadata=data.get("metadata", {}),
        )

    def _claim_id(self, at: _CaseAt) -> None:
        """Case ids are unique across a suite and everything it includes, and printable:
        an id is part of pytest's node ids and of every line that names the case."""
        if has_controls(at.case_id):  # the message's prefix shows the id escaped
            raise at.error("holds a control character; use printable text", ("id",), "id")
        if at.case_id in self.seen_ids:
            first_display, first_line = self.seen_ids[at.case_id]
            where = (
                f"line {first_line}"
                if first_display == at.display
                else f"{first_display}:{first_line}"
            )
            raise at.error(f"duplicate case id (first defined at {where})", ("id",), "id")
        self.seen_ids[at.case_id] = (at.display, at.raw_case.line)

    def _assertions(
        self,
        data: Mapping[str, Any],
        scope: _Inherited,
        variables: Mapping[str, Any],
        context: BuildContext,
        at: _CaseAt,
    ) -> list[AssertionSpec]:
        """The defaults' assertions, then the case's own, each built for this case."""
        specs = [
            self._assertion(
                default.item,
                variables,
                BuildContext(default.raw.path.parent, context.boundary),
                functools.partial(default.error, case_id=at.case_id),
            )
            for default in scope.assertions
        ]
        for index, item in enumerate(_case_assertions(data)):
            fail = functools.partial(at.error, path=("assert", index))
            specs.append(self._assertion(item, variables, context, fail))
        return specs

    def _assertion(
        self,
        item: Mapping[str, Any],
        variables: Mapping[str, Any],
        context: BuildContext,
        fail: Callable[[str], CaseFileError],
    ) -> AssertionSpec:
        ((name, args),) = item.items()
        kind = self.types.get(name)
        if kind is None:
            hint = difflib.get_close_matches(name, list(self.types), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise fail(
                f"unknown assertion {name!r}{suggestion} (known: {', '.join(sorted(self.types))})"
            )
        try:
            rendered = render_value(args, variables)
        except UnknownVariable as exc:
            raise fail(f"assertion {name!r}: {exc}") from None
        try:
            check = kind.build(rendered, context)
        except AssertionSpecError as exc:
            raise fail(f"assertion {name!r} {exc}") from None
        return AssertionSpec(type=name, args=rendered, check=check)


def _validate_case(raw_case: RawCase, display: str) -> None:
    """A JSONL or CSV case is checked against the schema on its own, naming its line."""
    problem = first_problem(case_validator(), raw_case.data)
    if problem is not None:
        raise CaseFileError(
            display,
            problem.message,
            line=raw_case.line_of(problem.path),
            case_id=_explicit_id(raw_case.data),
            field=problem.field,
        )


def _case_messages(
    data: Mapping[str, Any],
    prompt: str | None,
    system: str | None,
    variables: Mapping[str, Any],
    at: _CaseAt,
) -> list[Message]:
    """The conversation as the model gets it: the prompt or messages, templated, after the
    system prompt (unless the messages give their own)."""
    given = [name for name in ("prompt", "input", "messages") if name in data]
    if len(given) > 1:
        raise at.error(
            f"give one of 'prompt', 'input' or 'messages', not {' and '.join(given)}",
            (given[1],),
            given[1],
        )
    try:
        if "messages" in data:
            messages: list[Message] = [
                {"role": m["role"], "content": render(m["content"], variables)}
                for m in data["messages"]
            ]
        elif prompt is not None:
            messages = [{"role": "user", "content": render(prompt, variables)}]
        else:
            raise at.error(
                "missing prompt: give 'prompt' (or 'messages', or seed-style 'input')",
                (),
                "prompt",
            )
        if system and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": render(system, variables)})
    except UnknownVariable as exc:
        field_name = "prompt" if "messages" not in data else "messages"
        raise at.error(str(exc), ("prompt",), field_name) from None
    return messages


def _includes(
    raw: RawSuite, path: Path, display: str, stack: tuple[Path, ...], boundary: ProjectBoundary
) -> Iterator[tuple[str, Path]]:
    """The files a suite includes, as (what it wrote, the file), each once and none of them
    including itself; resolved one at a time, as the loader reaches them."""
    included_at: dict[Path, int | None] = {}
    for index, target in enumerate(raw.settings.get("include", [])):
        line = raw.line_of(("include", index))
        field_name = f"include[{index}]"
        included = _resolve_include(target, path, boundary, display, line, field_name)
        if included in (*stack, path.resolve()):
            problem = f"include {target!r} includes itself (a cycle)"
            raise CaseFileError(display, problem, line=line, field=field_name)
        if included in included_at:
            first = included_at[included]
            problem = f"include {target!r} is already included" + (
                f" (line {first})" if first else ""
            )
            raise CaseFileError(display, problem, line=line, field=field_name)
        included_at[included] = line
        yield target, included


def _case_assertions(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The case's own assertions, with the seed's dictionary style translated."""
    items: list[dict[str, Any]] = list(data.get("assert", []))
    for seed_key, name in _SEED_ASSERTIONS:
        if seed_key in data:
            items.append({name: data[seed_key]})
    if data.get("expected_format") == "json" and "schema" not in data:
        items.append({"is_json": True})
    return items


def _merge_tags(*groups: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tag for group in groups for tag in group))


def _explicit_id(data: Mapping[str, Any]) -> str | None:
    value = data.get("id")
    return value if isinstance(value, str) else None


def _generated_id(prompt: Any, data: Mapping[str, Any]) -> str:
    """A readable id that survives reordering: a slug of the prompt plus a content hash."""
    source = prompt if isinstance(prompt, str) else json.dumps(data.get("messages"), sort_keys=True)
    slug = _SLUG.sub("-", str(source).lower()).strip("-")[:40].rstrip("-") or "case"
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"{slug}-{digest[:6]}"


def _case_hash(
    messages: Sequence[Message],
    specs: Sequence[AssertionSpec],
    params: Mapping[str, Any],
    repeat: int,
    min_pass_rate: float,
) -> str:
    payload = json.dumps(
        [list(messages), [[s.type, s.args] for s in specs], params, repeat, min_pass_rate],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _resolve_include(
    target: str,
    including: Path,
    boundary: ProjectBoundary,
    display: str,
    line: int | None,
    field_name: str,
) -> Path:
    """The file an ``include`` names: a built-in library, or a case file inside the
    project. Every refusal names the including file and line."""
    if target.startswith(LIBRARY_PREFIX):
        name = target[len(LIBRARY_PREFIX) :]
        root = Path(str(resources.files("llmtest").joinpath("library")))
        for suffix in CASE_SUFFIXES:
            candidate = root / f"{name}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
        available = sorted(
            p.relative_to(root).with_suffix("").as_posix()
            for p in root.rglob("*")
            if p.suffix in CASE_SUFFIXES
        )
        raise CaseFileError(
            display,
            f"cannot include {target!r}: no built-in library of that name "
            f"(available: {', '.join(LIBRARY_PREFIX + a for a in available)})",
            line=line,
            field=field_name,
        )
    candidate = including.parent / target
    problem = None
    if not boundary.contains(candidate):
        problem = f"cannot include {boundary.outside(target, candidate)}"
    elif not candidate.is_file():
        problem = f"cannot include {target!r}: no such file {candidate}"
    elif candidate.suffix.lower() not in CASE_SUFFIXES:
        problem = (
            f"cannot include {target!r}: not a case file "
            f"(an included file is {', '.join(CASE_SUFFIXES)})"
        )
    if problem is not None:
        raise CaseFileError(display, problem, line=line, field=field_name)
    return candidate.resolve()


def _include_name(path: Path) -> str:
    name = path.name
    for suffix in CASE_SUFFIXES:
        name = name.removesuffix(suffix)
    return name.removesuffix(".llm").removeprefix("test_")


def _include_display(target: str, path: Path) -> str:
    return target if target.startswith(LIBRARY_PREFIX) else path.as_posix()
