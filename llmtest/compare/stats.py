"""The few statistics a canary comparison needs, in plain Python (no SciPy dependency);
each is checked against an independent computation in tests/compare/test_stats.py."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

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


def binomial_upper_tail(k: int, n: int) -> float:
    """P(X ≥ k) for X ~ Binomial(n, 1/2), exactly (1 for k ≤ 0, 0 for k > n)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, j) for j in range(k, n + 1)) / (1 << n)


def mcnemar_one_sided(regressions: int, fixes: int) -> float:
    """One-sided exact McNemar p-value for "the candidate is worse": the chance of at least
    ``regressions`` pass→fail among the discordant pairs if each were a fair coin flip. A gate
    blocks only on a drop, so only that tail counts."""
    return binomial_upper_tail(regressions, regressions + fixes)


SIGN_FLIP_EXACT_LIMIT = 3_000_000
"""Above this many steps (cases times the sum of their differences in lattice units), the
sign-flip test uses its normal approximation instead of counting every sign pattern."""


@dataclass(frozen=True)
class SignFlipTest:
    """The paired test on per-case pass-rate differences (baseline minus candidate)."""

    p_value: float
    exact: bool
    nonzero: int
    """Cases whose two pass rates differ: only they carry information about a drop."""


def sign_flip_test(differences: Sequence[Fraction]) -> SignFlipTest:
    """One-sided paired sign-flip (permutation) test that the differences' sum is above 0.

    Under "the two models are the same" each case's two sides are exchangeable, so each
    difference is as likely to have either sign. The p-value is the share of the 2^n sign
    patterns whose sum is at least the observed sum: counted exactly (a subset-sum count
    over the differences in their common lattice), or by the normal approximation with a
    continuity correction when that count would be too long. With one attempt per side
    every difference is ±1 and this is exactly the one-sided McNemar test.
    """
    nonzero = [d for d in differences if d]
    if not nonzero:
        return SignFlipTest(1.0, True, 0)
    scale = math.lcm(*(d.denominator for d in nonzero))
    units = [int(d * scale) for d in nonzero]
    magnitudes = [abs(u) for u in units]
    positive = sum(u for u in units if u > 0)
    total = sum(magnitudes)
    if len(set(magnitudes)) == 1:  # a binomial tail, whatever the count
        step = magnitudes[0]
        return SignFlipTest(binomial_upper_tail(positive // step, len(units)), True, len(units))
    if len(units) * total <= SIGN_FLIP_EXACT_LIMIT:
        # counts[s]: sign patterns whose positive part sums to s; P(sum ≥ observed) is
        # P(positive part ≥ the observed positive part).
        counts = [1] + [0] * total
        reach = 0
        for size in magnitudes:
            for s in range(reach, -1, -1):
                if counts[s]:
                    counts[s + size] += counts[s]
            reach += size
        return SignFlipTest(sum(counts[positive:]) / (1 << len(units)), True, len(units))
    observed = 2 * positive - total
    spread = math.sqrt(sum(m * m for m in magnitudes))
    step = math.gcd(*magnitudes)
    z = (observed - step) / spread
    return SignFlipTest(1.0 - NormalDist().cdf(z), False, len(units))


def fisher_one_sided(
    baseline_passed: int, baseline_attempts: int, candidate_passed: int, candidate_attempts: int
) -> float:
    """One-sided Fisher exact p-value that the candidate's pass rate is below the
    baseline's, from attempts of one case: the chance, with both rates equal and the
    total passes fixed, that the baseline would hold at least this many of them."""
    passes = baseline_passed + candidate_passed
    attempts = baseline_attempts + candidate_attempts
    if baseline_attempts == 0 or candidate_attempts == 0:
        return 1.0
    ways = math.comb(attempts, baseline_attempts)
    top = min(passes, baseline_attempts)
    tail = sum(
        math.comb(passes, x) * math.comb(attempts - passes, baseline_attempts - x)
        for x in range(baseline_passed, top + 1)
    )
    return tail / ways


def wilson_upper_bound(successes: int, total: int, significance: float) -> float | None:
    """The one-sided upper confidence bound of a pass rate at ``1 - significance``: below a
    floor means the rate is significantly under it. None for n = 0."""
    interval = wilson_interval(successes, total, NormalDist().inv_cdf(1.0 - significance))
    return None if interval is None else interval.high
