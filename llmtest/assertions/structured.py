"""Assertions on structured answers: is the output JSON, and does it fit a JSON Schema.

jsonschema is imported when a schema is compiled, not with this module: importing it
costs more than the rest of the assertion library together.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple
from urllib.parse import urldefrag, urljoin

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import BoundaryArg, FolderArg, Table
from llmtest.assertions.base import Judge, Verdict
from llmtest.assertions.declaration import Shorthand, assertion
from llmtest.assertions.excerpt import ELLIPSIS, excerpt
from llmtest.assertions.patterns import bounded_search, compile_pattern
from llmtest.config import limits
from llmtest.config.boundary import ProjectBoundary
from llmtest.errors import AssertionSpecError

if TYPE_CHECKING:
    import regex
    from jsonschema.exceptions import SchemaError, ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry, Resource

MAX_ERRORS_SHOWN = 3
ERROR_WIDTH = 160
DRAFT = "Draft 2020-12"

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
# Under these keywords the keys are names chosen by the schema author, the values schemas.
_SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
# Under these keywords the values are instance data, where "$ref" means nothing.
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
# jsonschema bundles the meta-schemas, so references to them resolve offline.
_BUNDLED = "https://json-schema.org/"
_SCHEMA = Table("an inline JSON Schema mapping or {$ref: path/to/schema.json}")
TOO_DEEP = "output nests too deeply to be read as JSON (Python's limit is about 1,000 levels)"


class ExtractedJSON(NamedTuple):
    ok: bool
    value: Any
    error: str


def extract_json(text: str) -> ExtractedJSON:
    """The JSON in an answer: the whole output, or else a fenced ```json (or bare ```) block.

    Models often wrap JSON in Markdown with a sentence around it; both forms count.
    ``error`` is a phrase ready for a failure message when ``ok`` is false.
    """
    try:
        return ExtractedJSON(True, json.loads(text), "")
    except json.JSONDecodeError as exc:
        whole_text_error = exc
    except RecursionError:
        return ExtractedJSON(False, None, TOO_DEEP)
    blocks = [
        (lang.lower(), body) for lang, body in _FENCE.findall(text) if lang.lower() in ("json", "")
    ]
    blocks.sort(key=lambda block: block[0] != "json")
    first_error: tuple[str, json.JSONDecodeError] | None = None
    for lang, body in blocks:
        try:
            return ExtractedJSON(True, json.loads(body), "")
        except json.JSONDecodeError as exc:
            first_error = first_error or (lang, exc)
        except RecursionError:
            return ExtractedJSON(False, None, TOO_DEEP)
    if first_error is not None:
        fence, block_error = first_error
        return ExtractedJSON(
            False, None, f"the ```{fence} code block in the output is not JSON ({block_error})"
        )
    return ExtractedJSON(
        False, None, f"output is not JSON ({whole_text_error}) and has no ```json code block"
    )


@assertion(summary="the output is JSON, or has a fenced JSON code block")
def is_json() -> Judge:
    """See :func:`extract_json` for where the JSON may be."""
    return _is_json


def _is_json(response: Response) -> Verdict:
    found = extract_json(response.text)
    if found.ok:
        return Verdict(True, None, "output is JSON")
    return Verdict(False, None, f"{found.error}; got: {excerpt(response.text)}")


@dataclass(frozen=True)
class CompiledSchema:
    """A checked JSON Schema with every local ``$ref`` loaded, ready for many outputs."""

    validator: Validator


def compile_schema(
    schema: Mapping[str, Any],
    base_dir: Path | str = ".",
    boundary: ProjectBoundary | None = None,
) -> CompiledSchema:
    """Check the schema and load the files its ``$ref``s name, relative to ``base_dir``.

    ``{"$ref": "schemas/order.json"}`` is therefore a schema kept in a file. References
    inside a file resolve relative to that file. Nothing is fetched from the network, and
    every problem (a missing file, an invalid schema, a dangling pointer) is raised here
    as an :class:`AssertionSpecError`, so it surfaces when the case is loaded. With a
    ``boundary`` (a case file's schema), a file outside it is refused, and a problem with
    a referenced file is told without quoting the file.

    A library repeats a handful of schemas across thousands of cases, and checking one
    against the meta-schema costs milliseconds, so each distinct schema is compiled once.
    """
    key = json.dumps(schema, sort_keys=True, default=str)
    return _compile_schema(key, str(Path(base_dir).resolve()), boundary)


@functools.lru_cache(maxsize=512)
def _compile_schema(
    schema_json: str, base_dir: str, boundary: ProjectBoundary | None
) -> CompiledSchema:
    from referencing import Registry

    schema = json.loads(schema_json)
    _check_schema(schema, "expects a valid JSON Schema")
    directory = Path(base_dir).as_uri()
    root = directory if directory.endswith("/") else directory + "/"
    loaded = _load_referenced_files(root, schema, boundary)
    retrieve = functools.partial(_retrieve_local_file, boundary)
    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    registry = registry.with_resources((uri, _resource(c)) for uri, c in loaded.items()).crawl()
    _check_refs_resolve(registry, loaded)
    _check_patterns(loaded)
    # The schema sits in the registry under the folder's URI; entering it through a $ref
    # makes that folder the base its own relative $refs resolve against.
    return CompiledSchema(_validator_class()({"$ref": root}, registry=registry))


def _load_referenced_files(
    root: str, schema: Mapping[str, Any], boundary: ProjectBoundary | None
) -> dict[str, Any]:
    """The schema and every local file it references, transitively, by URI."""
    loaded: dict[str, Any] = {root: schema}
    pending = [root]
    while pending:
        uri = pending.pop()
        for ref in _refs(loaded[uri]):
            target = urldefrag(urljoin(uri, ref)).url
            if target.startswith("file:") and target not in loaded:
                loaded[target] = _read_schema_file(target, ref, boundary)
                pending.append(target)
    return loaded


def _check_refs_resolve(registry: Registry[Any], loaded: Mapping[str, Any]) -> None:
    """Resolve every $ref now, so a typo in a pointer fails the load, not the run."""
    from referencing.exceptions import Unresolvable

    for uri, contents in loaded.items():
        resolver = registry.resolver(base_uri=uri)
        for ref in _refs(contents):
            if urljoin(uri, ref).startswith(_BUNDLED):
                continue
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                raise AssertionSpecError(_unresolvable(ref, exc)) from None


@assertion(
    summary="the output's JSON matches the schema (Draft 2020-12)",
    shorthand=Shorthand("schema", _SCHEMA.what),
    mapping=False,
)
def json_schema(
    schema: Annotated[Mapping[str, Any] | CompiledSchema, _SCHEMA],
    *,
    base_dir: FolderArg = ".",
    boundary: BoundaryArg = None,
) -> Judge:
    """Extract the JSON (see :func:`extract_json`) and validate it; list the first errors.

    The whole argument is the schema, so ``json_schema: {$ref: schemas/order.json}`` names a
    file relative to the case file (see :func:`compile_schema`).
    """
    if isinstance(schema, CompiledSchema):
        compiled = schema
    else:
        compiled = compile_schema(schema, base_dir, boundary)
    return lambda response: _matches_schema(compiled, response.text)


def _matches_schema(compiled: CompiledSchema, text: str) -> Verdict:
    from referencing.exceptions import Unresolvable

    found = extract_json(text)
    if not found.ok:
        return Verdict(False, None, f"{found.error}; got: {excerpt(text)}")
    try:
        errors = list(compiled.validator.iter_errors(found.value))
    except Unresolvable as exc:
        return Verdict(False, None, _unresolvable(exc.ref, exc))
    except RecursionError:
        return Verdict(False, None, "output nests too deeply to be checked against the schema")
    if not errors:
        return Verdict(True, None, "output matches the schema")
    shown = "; ".join(f"{e.json_path}: {_clip(e.message)}" for e in errors[:MAX_ERRORS_SHOWN])
    more = len(errors) - MAX_ERRORS_SHOWN
    extra = f" (and {more} more)" if more > 0 else ""
    return Verdict(False, None, f"output does not match the schema: {shown}{extra}")


check_is_json, assert_is_json = is_json.check, is_json.assert_
check_json_schema, assert_json_schema = json_schema.check, json_schema.assert_


def _check_schema(schema: Any, prefix: str, *, quote: bool = True) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise AssertionSpecError(f"{prefix} ({DRAFT}); {_schema_problem(exc, quote)}") from None


def _schema_problem(error: SchemaError, quote: bool = True) -> str:
    """Where the schema breaks the meta-schema; with ``quote``, jsonschema's message,
    which repeats the offending value."""
    if quote:
        return f"{error.json_path}: {_clip(error.message)}"
    return f"{error.json_path}: breaks the meta-schema's {error.validator!r} rule"


def _read_schema_file(uri: str, ref: str, boundary: ProjectBoundary | None) -> Any:
    """A referenced file's schema. Under a boundary the file may be anything a hostile case
    file points at (a ``.env``), so what is wrong with it is said without its contents."""
    path = _path(uri)
    if boundary is not None and not boundary.contains(path):
        raise AssertionSpecError(f"cannot load $ref: {boundary.outside(ref, path)}")
    if not path.is_file():
        raise AssertionSpecError(f"cannot load $ref {ref!r}: no such file {path}")
    try:
        contents = _parse(path)
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AssertionSpecError(
            f"cannot load $ref {ref!r}: cannot parse {path}: {reason}"
        ) from None
    prefix = f"cannot load $ref {ref!r}: {path} is not a valid JSON Schema"
    _check_schema(contents, prefix, quote=boundary is None)
    return contents


def _parse(path: Path) -> Any:
    """JSON for ``.json`` files, YAML for anything else, bounded as a case file is (size,
    depth; a schema file has no use for YAML aliases, so they are refused before they can
    expand). A problem becomes a ValueError that names the line and column, never the text
    found there."""
    import yaml

    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise ValueError(f"it is {size:,} bytes, more than the {limits.MAX_FILE_BYTES:,} allowed")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            value = json.loads(text)
        else:
            for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                if isinstance(event, yaml.AliasEvent):
                    mark = event.start_mark
                    at = f" (line {mark.line + 1})" if mark is not None else ""
                    raise ValueError(f"a YAML alias{at}: schema files may not use them")
            value = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"invalid JSON: {exc.msg} ({where})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"invalid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {type(exc).__name__}") from None
    except RecursionError:
        raise ValueError(limits.DEPTH_PROBLEM) from None
    if limits.too_deep(value) is not None:
        raise ValueError(limits.DEPTH_PROBLEM)
    return value


def _retrieve_local_file(boundary: ProjectBoundary | None, uri: str) -> Resource[Any]:
    """Fallback for references found only while validating; local files only."""
    from referencing.exceptions import NoSuchResource

    if not uri.startswith("file:"):
        raise NoSuchResource(uri)
    if boundary is not None and not boundary.contains(_path(uri)):
        raise NoSuchResource(uri)
    try:
        return _resource(_parse(_path(uri)))
    except (OSError, ValueError) as exc:
        raise NoSuchResource(uri) from exc


def _resource(contents: Any) -> Resource[Any]:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012.create_resource(contents)


def _path(uri: str) -> Path:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    return Path(url2pathname(urlsplit(uri).path))


def _subschemas(node: Any, names_are_schemas: bool = False) -> Iterator[dict[str, Any]]:
    """Every (sub)schema mapping in a schema, skipping instance data such as ``const``."""
    if isinstance(node, dict):
        if not names_are_schemas:
            yield node
        for key, value in node.items():
            if names_are_schemas:
                yield from _subschemas(value)
            elif key not in _DATA_KEYWORDS:
                yield from _subschemas(value, names_are_schemas=key in _SCHEMA_MAPS)
    elif isinstance(node, list):
        for item in node:
            yield from _subschemas(item)


def _refs(schema: Any) -> Iterator[str]:
    """Every ``$ref`` in a schema."""
    for node in _subschemas(schema):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref


def _patterns(schema: Any) -> Iterator[str]:
    """Every regular expression a schema runs on instances."""
    for node in _subschemas(schema):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        if isinstance(node.get("patternProperties"), dict):
            yield from node["patternProperties"]


def _check_patterns(loaded: Mapping[str, Any]) -> None:
    """A pattern that is no regex fails the load, as a broken ``regex:`` does."""
    import regex

    for contents in loaded.values():
        for pattern in _patterns(contents):
            try:
                _schema_pattern(pattern)
            except regex.error as exc:
                raise AssertionSpecError(
                    f"the schema's pattern {_clip(repr(pattern))} is not a valid regex: {exc}"
                ) from None


@functools.lru_cache(maxsize=1024)
def _schema_pattern(pattern: str) -> regex.Pattern[str]:
    return compile_pattern(pattern)


def _schema_search(pattern: str, text: str) -> bool:
    """``re.search`` as jsonschema would do it, within the time limit of every pattern."""
    compiled = _schema_pattern(pattern)
    found = bounded_search(
        compiled, text, lambda: f"json_schema: the schema's pattern {_clip(repr(pattern))}"
    )
    return found is not None


@functools.cache
def _validator_class() -> type[Validator]:
    """Draft 2020-12, with the keywords that run patterns on the answer made bounded
    (jsonschema's own call ``re.search``, which nothing can interrupt)."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(
        validator: Any, patrn: str, instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not _schema_search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(
        validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in patterns.items():
            for key, value in instance.items():
                if _schema_search(patrn, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=patrn)

    def additional_properties(
        validator: Any, additional: Any, instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extras = [
            key
            for key in instance
            if key not in known and not any(_schema_search(p, key) for p in patterns)
        ]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            joined = ", ".join(repr(each) for each in sorted(extras, key=str))
            if patterns:
                verb = "does" if len(extras) == 1 else "do"
                listed = ", ".join(repr(each) for each in sorted(patterns))
                yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
            else:
                verb = "was" if len(extras) == 1 else "were"
                yield ValidationError(
                    f"Additional properties are not allowed ({joined} {verb} unexpected)"
                )

    keywords = {
        "pattern": pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
    }
    extended: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, keywords
    )
    return extended


def _unresolvable(ref: str, exc: Exception) -> str:
    from referencing.exceptions import NoSuchAnchor, PointerToNowhere

    if isinstance(exc, PointerToNowhere | NoSuchAnchor):
        return f"cannot resolve $ref {ref!r}: that location does not exist in the schema"
    return (
        f"cannot resolve $ref {ref!r}: it is not a local file, "
        "and schemas are never fetched from the network"
    )


def _clip(message: str) -> str:
    flat = " ".join(message.split())
    return flat if len(flat) <= ERROR_WIDTH else flat[: ERROR_WIDTH - 1] + ELLIPSIS
