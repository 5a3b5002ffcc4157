"""Fuzzy closeness to a reference answer, for outputs whose wording may drift but not much.

Scores come from rapidfuzz (imported on first use), normalised from 0..100 to 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from llmtest.adapters.base import Response
from llmtest.assertions import _inputs as inputs
from llmtest.assertions.base import AssertionResult, BuildContext, Check, raise_on_failure
from llmtest.assertions.excerpt import excerpt, short_repr

Method = Literal["ratio", "partial_ratio", "token_set_ratio"]
METHODS: tuple[Method, ...] = ("ratio", "partial_ratio", "token_set_ratio")
DEFAULT_MIN = 0.8
_MIN = "'min' to be a number between 0 and 1"
_REFERENCES = "a reference string or a non-empty list of them"


def similarity_score(text: str, reference: str, method: Method = "ratio") -> float:
    """How alike two texts are, from 0 (nothing shared) to 1 (identical under ``method``)."""
    from rapidfuzz import fuzz

    scorers = {
        "ratio": fuzz.ratio,
        "partial_ratio": fuzz.partial_ratio,
        "token_set_ratio": fuzz.token_set_ratio,
    }
    return float(scorers[method](text, reference)) / 100


def check_similarity(
    output: str | Response,
    reference: str | Sequence[str],
    *,
    min: float = DEFAULT_MIN,
    method: Method = "ratio",
) -> AssertionResult:
    """Score against each reference and keep the best: any accepted answer may match."""
    threshold = inputs.number(min, _MIN, low=0, high=1)
    if method not in METHODS:
        raise inputs.expected(f"'method' to be one of {', '.join(map(repr, METHODS))}", method)
    references = inputs.phrases(
        [reference] if isinstance(reference, str) else list(reference), _REFERENCES
    )
    text = inputs.output_text(output)
    score, closest = max(
        ((similarity_score(text, r, method), r) for r in references), key=_by_score
    )
    label = "reference" if len(references) == 1 else "closest reference"
    detail = f"(method {method}; {label}: {short_repr(closest)})"
    if score >= threshold:
        message = f"similarity {_shown(score)} meets the minimum {threshold:g} {detail}"
        return AssertionResult("similarity", True, score, message)
    message = (
        f"similarity {_shown(score)} is below the minimum {threshold:g} {detail}; "
        f"got: {excerpt(text)}"
    )
    return AssertionResult("similarity", False, score, message)


def assert_similar(
    output: str | Response,
    reference: str | Sequence[str],
    *,
    min: float = DEFAULT_MIN,
    method: Method = "ratio",
) -> AssertionResult:
    __tracebackhide__ = True
    return raise_on_failure(check_similarity(output, reference, min=min, method=method))


def build_similarity(args: Any, ctx: BuildContext) -> Check:
    method: Method
    if isinstance(args, str):
        references, threshold, method = inputs.phrases(args, _REFERENCES), DEFAULT_MIN, "ratio"
    elif isinstance(args, dict):
        opts = inputs.options(args, ("reference", "min", "method"))
        form = "a reference string or a mapping with 'reference'"
        references = inputs.phrases(
            inputs.required(opts, "reference", form), f"'reference' to be {_REFERENCES}"
        )
        threshold = inputs.number(opts.get("min", DEFAULT_MIN), _MIN, low=0, high=1)
        method = inputs.choice(opts, "method", METHODS, "ratio")
    else:
        raise inputs.expected("a reference string or a mapping with 'reference'", args)

    def check(response: Response) -> AssertionResult:
        return check_similarity(response, references, min=threshold, method=method)

    return check


def _by_score(scored: tuple[float, str]) -> float:
    return scored[0]


def _shown(score: float) -> str:
    """Three decimals, cut rather than rounded, so a failing 0.7996 never reads as 0.8."""
    return f"{math.floor(score * 1000 + 1e-9) / 1000:g}"
