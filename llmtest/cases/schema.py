"""The published JSON Schema of case files, and the one-line messages its errors become."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from llmtest.cases.readers import PathKey

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


@functools.cache
def case_file_schema() -> dict[str, Any]:
    """The schema as published (``llmtest schema`` prints it)."""
    text = resources.files("llmtest.cases").joinpath("case-file.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class SchemaValidator:
    """One part of the published schema, checked twice as fast as it needs to be right.

    A compiled validator (fastjsonschema, ~2 µs a case) answers "valid?" so a 10,000-case
    library collects in well under a second; only when it says no does jsonschema, the
    reference implementation, find the error a user reads (and only then is it imported:
    that is most of a second's tenth at every start).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._reference: Draft202012Validator | None = None
        self._fast: Callable[[Any], Any] | None = None

    def problem(self, data: Any) -> SchemaProblem | None:
        if self._fast is None:
            import fastjsonschema

            self._fast = fastjsonschema.compile(_inline_refs(self.schema), handlers=_NO_FETCH)
        try:
            self._fast(data)
        except Exception:  # noqa: BLE001 - any doubt goes to the reference validator
            if self._reference is None:
                from jsonschema import Draft202012Validator

                self._reference = Draft202012Validator(self.schema)
            return _reference_problem(self._reference, data)
        return None


def _refuse_fetch(uri: str) -> Any:
    raise ValueError(f"case-file schema tried to fetch {uri}; it must be self-contained")


_NO_FETCH = {"http": _refuse_fetch, "https": _refuse_fetch}


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local ``$ref`` replaced by its target, and no ``$id`` or
    ``$schema``: the compiled validator then has nothing to resolve, let alone fetch."""
    definitions = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items() if k not in ("$id", "$schema", "$defs")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


@functools.cache
def suite_validator() -> SchemaValidator:
    return SchemaValidator(case_file_schema())


@functools.cache
def settings_validator() -> SchemaValidator:
    """Suite-level settings without cases: the header line of a JSONL file."""
    schema = dict(case_file_schema())
    schema["required"] = []
    return SchemaValidator(schema)


@functools.cache
def case_validator() -> SchemaValidator:
    schema = case_file_schema()
    return SchemaValidator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/case"}
    )


@dataclass(frozen=True)
class SchemaProblem:
    path: PathKey
    message: str

    @property
    def field(self) -> str | None:
        return format_path(self.path) or None


def first_problem(validator: SchemaValidator, data: Any) -> SchemaProblem | None:
    return validator.problem(data)


def _reference_problem(validator: Draft202012Validator, data: Any) -> SchemaProblem | None:
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    path: PathKey = tuple(error.absolute_path)
    unknown = _unknown_fields(error)
    if unknown:
        path = (*path, unknown[0])
    return SchemaProblem(path, _describe(error))


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: ValidationError) -> str:
    """Say it the way a user would: which field is unknown, what type was expected."""
    extra = _unknown_fields(error)
    if extra:
        allowed = _allowed_fields(error)
        hint = difflib.get_close_matches(extra[0], allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        value = error.instance.get(extra[0]) if isinstance(error.instance, Mapping) else None
        if not error.absolute_path and isinstance(value, (dict, list)):
            # A table at the top that is no setting is most likely a home for YAML anchors.
            suggestion += " (a top-level key that holds YAML anchors must start with 'x-')"
        return f"unknown field {extra[0]!r}{suggestion}"
    if error.validator == "type":
        return f"expected {_type_name(error.validator_value)}, got {_short(error.instance)}"
    if error.validator == "required":
        return str(error.message)
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "id":
        return f"case id {error.instance!r} may not contain spaces, ':' or brackets"
    if error.validator in ("minProperties", "maxProperties") and isinstance(
        error.instance, Mapping
    ):
        return (
            "each assertion is a mapping with exactly one key, the assertion's name "
            f"(e.g. '- contains: [...]'), got {_short(error.instance)}"
        )
    return str(error.message)


def _allowed_fields(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    return [str(k) for k in schema.get("properties", {})]


def _unknown_fields(error: ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, Mapping):
        return []
    allowed = set(_allowed_fields(error))
    return [str(k) for k in error.instance if k not in allowed]


def _type_name(value: Any) -> str:
    names: dict[str, str] = {
        "array": "a list",
        "object": "a mapping",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
    }
    if isinstance(value, list):
        return " or ".join(names.get(str(v), str(v)) for v in value)
    return names.get(value, str(value))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
