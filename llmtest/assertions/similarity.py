"""Fuzzy closeness to a reference answer, for outputs whose wording may drift but not much.

Scores come from rapidfuzz (imported on first use), normalised from 0..100 to 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from llmtest.adapters.base import Response
from llmtest.assertions.arguments import SHARE, OneOf, Phrases
from llmtest.assertions.base import Judge, Verdict
from llmtest.assertions.declaration import Shorthand, assertion
from llmtest.assertions.excerpt import excerpt, short_repr

Method = Literal["ratio", "partial_ratio", "token_set_ratio"]
METHODS: tuple[Method, ...] = ("ratio", "partial_ratio", "token_set_ratio")
DEFAULT_MIN = 0.8
_METHOD = OneOf(METHODS)
_REFERENCES = Phrases("a reference string or a non-empty list of them")


def similarity_score(text: str, reference: str, method: Method = "ratio") -> float:
    """How alike two texts are, from 0 (nothing shared) to 1 (identical under ``method``)."""
    from rapidfuzz import fuzz

    scorers = {
        "ratio": fuzz.ratio,
        "partial_ratio": fuzz.partial_ratio,
        "token_set_ratio": fuzz.token_set_ratio,
    }
    return float(scorers[method](text, reference)) / 100


@assertion(
    summary="the best rapidfuzz similarity is at least `min`",
    shorthand=Shorthand("reference", "a reference string", accepts=(str,)),
    assert_name="assert_similar",
)
def similarity(
    reference: Annotated[str | Sequence[str], _REFERENCES],
    *,
    min: Annotated[float, SHARE] = DEFAULT_MIN,
    method: Annotated[Method, _METHOD] = "ratio",
) -> Judge:
    """Score against each reference and keep the best: any accepted answer may match."""
    threshold = SHARE.field("min", min)
    _METHOD.field("method", method)
    references = _REFERENCES.parse(
        [reference] if isinstance(reference, str) else list(reference), _REFERENCES.what
    )
    label = "reference" if len(references) == 1 else "closest reference"

    def check(response: Response) -> Verdict:
        text = response.text
        score, closest = max(
            ((similarity_score(text, r, method), r) for r in references), key=_by_score
        )
        detail = f"(method {method}; {label}: {short_repr(closest)})"
        if score >= threshold:
            message = f"similarity {_shown(score)} meets the minimum {threshold:g} {detail}"
            return Verdict(True, score, message)
        message = (
            f"similarity {_shown(score)} is below the minimum {threshold:g} {detail}; "
            f"got: {excerpt(text)}"
        )
        return Verdict(False, score, message)

    return check


check_similarity, assert_similar = similarity.check, similarity.assert_


def _by_score(scored: tuple[float, str]) -> float:
    return scored[0]


def _shown(score: float) -> str:
    """Three decimals, cut rather than rounded, so a failing 0.7996 never reads as 0.8."""
    return f"{math.floor(score * 1000 + 1e-9) / 1000:g}"
