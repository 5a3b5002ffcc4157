"""The statistics, against values computed another way."""

from __future__ import annotations

from fractions import Fraction

import pytest

from llmtest.compare.stats import mcnemar_exact, ratio, wilson_interval


def binomial_two_sided(b: int, c: int) -> float:
    """Exact two-sided sign test, the pmf built by the multiplicative recurrence in exact
    fractions and the tail taken from the top (independent of math.comb)."""
    n = b + c
    if n == 0:
        return 1.0
    pmf = [Fraction(1, 2**n)]
    for k in range(1, n + 1):
        pmf.append(pmf[-1] * (n - k + 1) / k)
    upper = sum(pmf[max(b, c) :])  # P(X >= max) == P(X <= min) by symmetry
    return float(min(Fraction(1), 2 * upper))


@pytest.mark.parametrize(
    ("b", "c"), [(0, 0), (0, 1), (1, 0), (0, 5), (1, 6), (7, 2), (10, 10), (3, 30), (120, 90)]
)
def test_mcnemar_equals_an_exact_binomial_computed_independently(b: int, c: int) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(binomial_two_sided(b, c), rel=1e-12)


def test_mcnemar_known_values() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(0.0625)
    assert mcnemar_exact(6, 1) == pytest.approx(0.125)


def test_mcnemar_stays_finite_for_thousands_of_discordant_pairs() -> None:
    p = mcnemar_exact(3000, 2000)
    assert 0.0 <= p < 1e-40


def test_wilson_interval_matches_the_textbook_value_for_8_of_10() -> None:
    interval = wilson_interval(8, 10)
    assert interval is not None
    assert interval.low == pytest.approx(0.4902, abs=1e-4)
    assert interval.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_interval_stays_inside_0_and_1_and_is_none_without_cases() -> None:
    assert wilson_interval(0, 0) is None
    all_pass = wilson_interval(20, 20)
    assert all_pass is not None and all_pass.high == 1.0 and 0.8 < all_pass.low < 0.9


def test_ratio_is_none_when_the_baseline_is_zero_or_missing() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(3.0, None) is None
