"""The figures every output derives from the records, one home each, so that the terminal,
the reports, the history and the comparison of one run agree."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

Status = Literal["pass", "fail", "error", "skip"]

PASS_RATE_TOLERANCE = 5e-5
"""A pass rate that misses ``min_pass_rate`` by no more than this is taken as reaching it:
half a unit of the fourth decimal, so ``2/3`` passes ``min_pass_rate: 0.6667`` written as a
rounded fraction, as a user means."""


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between ranks, as numpy's default
    (so p50 of an even count is the mean of the middle two); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean; None for no values."""
    known = list(values)
    return sum(known) / len(known) if known else None


def meets_pass_rate(passed: int, counted: int, min_pass_rate: float) -> bool:
    """Whether ``passed`` of ``counted`` attempts reach ``min_pass_rate``."""
    return counted > 0 and passed / counted >= min_pass_rate - PASS_RATE_TOLERANCE


def case_verdict(statuses: Sequence[Status], min_pass_rate: float) -> Status:
    """A case's verdict over its attempts: ``error`` if any attempt got no answer, ``skip``
    if none was run, else ``pass`` when the passing share reaches ``min_pass_rate``."""
    if "error" in statuses:
        return "error"
    counted = [s for s in statuses if s != "skip"]
    if not counted:
        return "skip"
    return "pass" if meets_pass_rate(counted.count("pass"), len(counted), min_pass_rate) else "fail"
