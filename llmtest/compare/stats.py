"""The few statistics a canary comparison needs, in plain Python (no SciPy dependency)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(successes: int, total: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval for a pass rate: unlike the normal approximation it stays
    inside [0, 1] and is sensible for small suites and rates near 0 or 1. None for n = 0."""
    if total <= 0:
        return None
    p = successes / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(regressions: int, fixes: int) -> float:
    """Two-sided exact McNemar p-value on the discordant pairs (b = pass→fail,
    c = fail→pass): under "no difference" each discordant pair is a fair coin flip.

    p = min(1, 2 · Σ_{k ≤ min(b, c)} C(b+c, k) / 2^(b+c)); 1 when there is no discordant pair.
    Exact integer arithmetic, so it is right for large b + c too.
    """
    n = regressions + fixes
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(regressions, fixes) + 1))
    # int / int is correctly rounded in Python even when both are huge, unlike 0.5**n sums.
    return min(1.0, 2 * tail / (1 << n))


def ratio(candidate: float | None, baseline: float | None) -> float | None:
    """candidate / baseline; None when either is unknown or the baseline is 0."""
    if candidate is None or baseline is None or baseline == 0:
        return None
    return candidate / baseline
