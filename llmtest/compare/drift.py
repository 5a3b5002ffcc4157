"""Output drift: how differently the candidate answers the same prompts, pass or fail.

A model swap can keep every assertion green while rewriting every answer; the similarity
distribution and the JSON-format changes surface that before users do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from llmtest.assertions import extract_json
from llmtest.compare.pairing import CasePair
from llmtest.results import figures

LOW_SIMILARITY = 0.5


def is_structured_json(text: str | None) -> bool:
    """True when the output is (or fences) a JSON object or array. Bare scalars such as
    ``42`` or ``true`` are valid JSON but not a format, so they do not count."""
    if text is None or ("{" not in text and "[" not in text):
        return False  # cannot hold an object or array: skip the parse (it is most answers)
    found = extract_json(text)
    return found.ok and isinstance(found.value, dict | list)


@dataclass(frozen=True)
class CaseDrift:
    pair: CasePair
    similarity: float


@dataclass(frozen=True)
class DriftSummary:
    similarities: tuple[float, ...]
    lost_json: tuple[CasePair, ...] = ()
    """JSON in the baseline's output, not in the candidate's."""
    gained_json: tuple[CasePair, ...] = ()
    most_changed: tuple[CaseDrift, ...] = field(default_factory=tuple)

    @property
    def compared(self) -> int:
        return len(self.similarities)

    @property
    def mean(self) -> float | None:
        return figures.mean(self.similarities)

    @property
    def p50(self) -> float | None:
        return figures.percentile(self.similarities, 50)

    @property
    def p10(self) -> float | None:
        return figures.percentile(self.similarities, 10)

    @property
    def share_below(self) -> float | None:
        """The share of answers less than half similar to the baseline's."""
        values = self.similarities
        return sum(1 for v in values if v < LOW_SIMILARITY) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "mean": self.mean,
            "p50": self.p50,
            "p10": self.p10,
            "share_below_0_5": self.share_below,
            "lost_json": [_ident(p) for p in self.lost_json],
            "gained_json": [_ident(p) for p in self.gained_json],
            "most_changed": [
                {**_ident(d.pair), "similarity": d.similarity} for d in self.most_changed
            ],
        }


def _ident(pair: CasePair) -> dict[str, str]:
    return {"suite": pair.suite, "case_id": pair.case_id}


def measure_drift(pairs: Sequence[CasePair], *, most_changed: int = 10) -> DriftSummary:
    """Similarity (rapidfuzz ``ratio`` / 100) of the first attempts' outputs, where both
    sides have one."""
    drifts: list[CaseDrift] = []
    lost: list[CasePair] = []
    gained: list[CasePair] = []
    for pair in pairs:
        before, after = pair.baseline.output, pair.candidate.output
        if before is None or after is None:
            continue
        drifts.append(CaseDrift(pair, fuzz.ratio(before, after) / 100))
        was, now = is_structured_json(before), is_structured_json(after)
        if was and not now:
            lost.append(pair)
        elif now and not was:
            gained.append(pair)
    ranked = sorted(drifts, key=lambda d: d.similarity)[:most_changed]
    return DriftSummary(
        tuple(d.similarity for d in drifts),
        tuple(lost),
        tuple(gained),
        tuple(d for d in ranked if d.similarity < 1.0),
    )
