"""One declaration per assertion type: :func:`assertion` on a factory.

The factory is the assertion, as Inspect AI's ``@scorer`` factory is the scorer: its
parameters are the assertion's arguments, its body checks and prepares them (compiles the
regex, loads the schema) and it returns the check that judges one answer. Everything else is
derived from it and the decorator's few words:

- the loader's builder: a case file writes a mapping of the parameters, or the shorthand for
  one of them, and each parameter's kind (``Annotated[bool, FLAG]``) checks what it writes;
- the Python helpers ``check_<name>(output, ...)`` and ``assert_<name>(output, ...)``, with
  the factory's own parameters;
- the registry entry (an :class:`Assertion` is an :class:`AssertionType`), the CSV reader's
  reading of a bare number, and whether the score counts towards a case's score.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import CONTEXT_MARKERS, Kind, expected, reject_unknown
from llmtest.assertions.base import (
    AssertionResult,
    AssertionType,
    BuildContext,
    Judge,
    Measure,
    Verdict,
    raise_on_failure,
)

P = ParamSpec("P")
T = TypeVar("T")

_NO_ARGUMENTS = "true, null or {} (it takes no arguments)"


@dataclass(frozen=True)
class Shorthand:
    """How the argument may be written without a mapping: ``contains: "30 days"``.

    ``parameter`` receives it; ``form`` is how messages name it ("a string, a list of
    strings"); values of the types in ``accepts`` take this form, any other is written in no
    form we know. ``invalid`` says what such a value must be when the parameter's kind rejects
    it: the kind's own ``what`` unless given, where ``{form}`` stands for the whole form.
    """

    parameter: str
    form: str
    accepts: tuple[type, ...] = (object,)
    invalid: str | None = None


@dataclass(frozen=True)
class Parameter:
    """One argument a case file may write: its kind (if it names one) and whether it must."""

    name: str
    kind: Kind | None
    required: bool
    optional: bool  # its default is None, so a null in the case file means "not given"

    def parse(self, value: Any) -> Any:
        if self.kind is None or (value is None and self.optional):
            return value
        return self.kind.field(self.name, value)


@dataclass(frozen=True)
class Arguments:
    """How a case file writes one assertion's arguments, read from its factory's signature."""

    parameters: tuple[Parameter, ...]
    # (parameter, BuildContext attribute): what the loader hands over, not the case file
    from_context: tuple[tuple[str, str], ...]
    shorthand: Shorthand | None = None
    mapping: bool = True
    any_of: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        factory: Callable[..., Any],
        name: str,
        *,
        shorthand: Shorthand | None,
        mapping: bool,
        any_of: tuple[str, ...],
    ) -> Arguments:
        namespace = inspect.unwrap(factory).__globals__
        parameters: list[Parameter] = []
        from_context: list[tuple[str, str]] = []
        for param in inspect.signature(factory).parameters.values():
            if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                raise TypeError(
                    f"assertion {name!r}: parameter {param.name!r} of its factory cannot be "
                    "named in a case file (no *args, **kwargs or positional-only parameters)"
                )
            metadata = _metadata(param.annotation, namespace)
            given = next((CONTEXT_MARKERS[m] for m in metadata if m in CONTEXT_MARKERS), None)
            if given is not None:
                from_context.append((param.name, given))
                continue
            kind = next((m for m in metadata if isinstance(m, Kind)), None)
            default = param.default
            parameters.append(Parameter(param.name, kind, default is param.empty, default is None))
        arguments = cls(tuple(parameters), tuple(from_context), shorthand, mapping, any_of)
        named = {p.name for p in parameters}
        for wanted in (*any_of, *([shorthand.parameter] if shorthand else [])):
            if wanted not in named:
                raise TypeError(f"assertion {name!r}: its factory has no parameter {wanted!r}")
        return arguments

    @functools.cached_property
    def form(self) -> str:
        """Every way to write the argument, as messages name them."""
        forms = [self.shorthand.form] if self.shorthand else []
        if self.mapping:
            needed = [repr(p.name) for p in self.parameters if p.required]
            if self.any_of:
                needed.append(" and/or ".join(repr(n) for n in self.any_of))
            forms.append("a mapping with " + " and ".join(needed) if needed else "a mapping")
        return " or ".join(forms)

    @property
    def number_argument(self) -> bool:
        """Whether the shorthand is a number, as a bound is: ``length: 200``."""
        kind = self._shorthand_parameter.kind if self.shorthand else None
        return kind is not None and kind.numeric

    def parse(self, args: Any, context: BuildContext) -> dict[str, Any]:
        """The factory's keyword arguments for what the case file wrote."""
        if not self.parameters:
            if not (args is True or args is None or args == {}):
                raise expected(_NO_ARGUMENTS, args)
            values: dict[str, Any] = {}
        elif self.mapping and isinstance(args, dict):
            values = self._parse_mapping(args)
        elif self.shorthand is not None and isinstance(args, self.shorthand.accepts):
            values = {self.shorthand.parameter: self._parse_shorthand(args)}
        else:
            raise expected(self.form, args)
        for name, attribute in self.from_context:
            values[name] = getattr(context, attribute)
        return values

    def _parse_mapping(self, args: Mapping[str, Any]) -> dict[str, Any]:
        names = self._names
        if not args.keys() <= names.keys():
            reject_unknown(args, names)
        missing = any(name not in args for name in self._required)
        if missing or (self.any_of and all(args.get(n) is None for n in self.any_of)):
            raise expected(self.form, dict(args))
        return {p.name: p.parse(args[p.name]) for p in self.parameters if p.name in args}

    @functools.cached_property
    def _names(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters}

    @functools.cached_property
    def _required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.required)

    def _parse_shorthand(self, value: Any) -> Any:
        kind = self._shorthand_parameter.kind
        if kind is None:
            return value
        if not kind.accepts(value):
            raise expected(self._shorthand_invalid, value)
        return kind.convert(value)

    @functools.cached_property
    def _shorthand_parameter(self) -> Parameter:
        assert self.shorthand is not None
        return self._names[self.shorthand.parameter]

    @functools.cached_property
    def _shorthand_invalid(self) -> str:
        """What a shorthand of an accepted type must be, as messages say it."""
        kind, shorthand = self._shorthand_parameter.kind, self.shorthand
        assert kind is not None and shorthand is not None
        what = kind.what if shorthand.invalid is None else shorthand.invalid
        return what.replace("{form}", self.form)


@dataclass(frozen=True)
class Assertion(AssertionType, Generic[P]):
    """An assertion type declared by its factory (see :func:`assertion`).

    ``check(output, ...)`` and ``assert_(output, ...)`` are its Python helpers: they take the
    model's text or its :class:`~llmtest.Response` and then the factory's own arguments.
    """

    factory: Callable[P, Judge] = field(kw_only=True, repr=False)
    arguments: Arguments = field(kw_only=True, repr=False)
    assert_name: str = field(kw_only=True)

    @functools.cached_property
    def check(self) -> Callable[Concatenate[str | Response, P], AssertionResult]:
        """``check_<name>``: the result, passed or not."""

        def check(output: str | Response, /, *args: P.args, **kwargs: P.kwargs) -> AssertionResult:
            judge = _NamedCheck(self.name, self.factory(*args, **kwargs))
            return judge(output if isinstance(output, Response) else Response(text=output))

        usage = f"Whether {self.summary}: the result of ``{self.name}`` in a case file."
        return self._python_function(check, f"check_{self.name}", usage)

    @functools.cached_property
    def assert_(self) -> Callable[Concatenate[str | Response, P], AssertionResult]:
        """``assert_<name>``: the result, or :class:`~llmtest.LLMAssertionError` with its
        message, the same message the case file's assertion reports."""

        def assert_(
            output: str | Response, /, *args: P.args, **kwargs: P.kwargs
        ) -> AssertionResult:
            __tracebackhide__ = True  # pytest shows the failure at the test's own line
            return raise_on_failure(self.check(output, *args, **kwargs))

        usage = f"Fails unless {self.summary}, as ``{self.name}`` in a case file would."
        return self._python_function(assert_, self.assert_name, usage)

    def _python_function(
        self, function: Callable[..., T], name: str, usage: str
    ) -> Callable[..., T]:
        """Name and sign the helper as the factory is signed, so help() and IDEs show it."""
        signature = inspect.signature(self.factory)
        namespace = inspect.unwrap(self.factory).__globals__
        output = inspect.Parameter(
            "output", inspect.Parameter.POSITIONAL_ONLY, annotation=str | Response
        )
        parameters = [
            p.replace(annotation=_without_kind(p.annotation, namespace))
            for p in signature.parameters.values()
        ]
        function.__name__ = function.__qualname__ = name
        function.__module__ = self.factory.__module__
        function.__doc__ = f"{usage}\n\n{self.factory.__doc__}" if self.factory.__doc__ else usage
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[output, *parameters], return_annotation=AssertionResult
        )
        return function


@dataclass(frozen=True, repr=False)
class _Build:
    """An assertion's ``build``: the case file's argument, parsed, into its factory."""

    name: str
    arguments: Arguments
    factory: Callable[..., Judge]

    def __repr__(self) -> str:
        return f"<build of {self.name!r}>"

    def __call__(self, args: Any, context: BuildContext) -> _NamedCheck:
        return _NamedCheck(self.name, self.factory(**self.arguments.parse(args, context)))


class _NamedCheck:
    """A declared assertion's check, as the engine calls it: its verdict, named."""

    __slots__ = ("judge", "name")

    def __init__(self, name: str, judge: Judge) -> None:
        self.name, self.judge = name, judge

    def __call__(self, response: Response) -> AssertionResult:
        verdict = self.judge(response)
        return AssertionResult(self.name, verdict.passed, verdict.score, verdict.message)


def assertion(
    name: str | None = None,
    *,
    summary: str,
    measures: Measure = "score",
    shorthand: Shorthand | None = None,
    mapping: bool = True,
    any_of: tuple[str, ...] = (),
    assert_name: str | None = None,
) -> Callable[[Callable[P, Judge]], Assertion[P]]:
    """Declare an assertion type by its factory.

    ``name`` is what case files write under ``assert`` (the factory's name by default);
    ``summary`` completes "passes when …"; ``measures`` says what the score is (see
    :data:`~llmtest.assertions.base.Measure`). A case file writes a mapping of the factory's
    parameters (unless ``mapping`` is false) that names the required ones and at least one of
    ``any_of``, or the ``shorthand``. ``assert_name`` is the Python helper's name
    (``assert_<name>`` by default).
    """

    def declare(factory: Callable[P, Judge]) -> Assertion[P]:
        label = name or factory.__name__
        arguments = Arguments.of(
            factory, label, shorthand=shorthand, mapping=mapping, any_of=any_of
        )
        return Assertion(
            label,
            _Build(label, arguments, factory),
            summary,
            measures,
            arguments.number_argument,
            factory=factory,
            arguments=arguments,
            assert_name=assert_name or f"assert_{label}",
        )

    return declare


def prepared_by(
    prepare: Callable[P, T],
) -> Callable[[Callable[[T, Response], Verdict]], Callable[P, Judge]]:
    """Make a verdict a factory, for assertions that take the same arguments (``contains``
    and ``not_contains``): ``prepare`` has the arguments as its parameters and returns what
    the verdict needs besides the answer; the verdict judges the answer.

    ``@assertion(...)`` over ``@prepared_by(prepare)`` over ``def verdict(prepared,
    response)`` declares the assertion the verdict is named after.
    """

    def factory_of(verdict: Callable[[T, Response], Verdict]) -> Callable[P, Judge]:
        @functools.wraps(prepare)
        def factory(*args: P.args, **kwargs: P.kwargs) -> Judge:
            return functools.partial(verdict, prepare(*args, **kwargs))

        factory.__name__ = factory.__qualname__ = verdict.__name__
        factory.__doc__ = verdict.__doc__
        return factory

    return factory_of


def _metadata(annotation: Any, namespace: dict[str, Any]) -> tuple[Any, ...]:
    """What ``Annotated[...]`` adds to a parameter's type."""
    return tuple(getattr(_evaluated(annotation, namespace), "__metadata__", ()))


def _without_kind(annotation: Any, namespace: dict[str, Any]) -> Any:
    """The type as a reader of the helper's signature wants it: without the case-file kind."""
    evaluated = _evaluated(annotation, namespace)
    if hasattr(evaluated, "__metadata__"):
        return evaluated.__origin__
    return annotation


def _evaluated(annotation: Any, namespace: dict[str, Any]) -> Any:
    """A string annotation evaluated as typing.get_type_hints would; None for one that names
    what only a type checker sees (an import under ``TYPE_CHECKING``)."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, namespace)
    except Exception:  # noqa: BLE001 - not ours to judge: it simply names no kind
        return None
