"""The statistics, against values computed another way."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from llmtest.compare import stats
from llmtest.compare.stats import (
    fisher_one_sided,
    mcnemar_exact,
    mcnemar_one_sided,
    ratio,
    sign_flip_test,
    wilson_interval,
    wilson_upper_bound,
)


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


def exact_upper_tail(regressions: int, fixes: int) -> Fraction:
    """P(X >= regressions), X ~ Binomial(regressions + fixes, 1/2), by the pmf recurrence."""
    n = regressions + fixes
    pmf = [Fraction(1, 2**n)]
    for k in range(1, n + 1):
        pmf.append(pmf[-1] * (n - k + 1) / k)
    return sum(pmf[regressions:], Fraction(0))


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (0, 3), (5, 0), (6, 1), (25, 10), (300, 260)])
def test_the_one_sided_mcnemar_p_is_the_upper_binomial_tail(b: int, c: int) -> None:
    assert mcnemar_one_sided(b, c) == pytest.approx(float(exact_upper_tail(b, c)), rel=1e-12)


def test_the_one_sided_p_is_half_the_two_sided_when_the_candidate_is_worse() -> None:
    assert mcnemar_one_sided(7, 2) == pytest.approx(mcnemar_exact(7, 2) / 2)
    assert mcnemar_one_sided(2, 7) > 0.9  # more fixes than regressions: no evidence of a drop


def brute_force_sign_flip(differences: list[Fraction]) -> Fraction:
    """Every one of the 2^n sign patterns, counted."""
    observed = sum(differences, Fraction(0))
    magnitudes = [abs(d) for d in differences]
    hits = sum(
        1
        for signs in itertools.product((1, -1), repeat=len(magnitudes))
        if sum((s * m for s, m in zip(signs, magnitudes, strict=True)), Fraction(0)) >= observed
    )
    return Fraction(hits, 2 ** len(magnitudes))


@pytest.mark.parametrize("seed", range(8))
def test_the_sign_flip_test_counts_every_sign_pattern(seed: int) -> None:
    rng = random.Random(seed)
    differences = [
        Fraction(rng.randint(0, 5), 5) - Fraction(rng.randint(0, 3), 3) for _ in range(11)
    ]
    test = sign_flip_test(differences)
    assert test.exact
    assert test.p_value == pytest.approx(float(brute_force_sign_flip(differences)), rel=1e-12)


def test_the_sign_flip_test_on_single_attempts_is_the_one_sided_mcnemar_test() -> None:
    differences = [Fraction(1)] * 9 + [Fraction(-1)] * 3 + [Fraction(0)] * 40
    test = sign_flip_test(differences)
    assert test.nonzero == 12 and test.p_value == mcnemar_one_sided(9, 3)
    assert sign_flip_test([Fraction(0)] * 3).p_value == 1.0


def test_the_normal_approximation_is_close_to_the_exact_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    differences = [Fraction(rng.randint(-5, 5), 5) + Fraction(1, 10) for _ in range(400)]
    exact = sign_flip_test(differences)
    monkeypatch.setattr(stats, "SIGN_FLIP_EXACT_LIMIT", 10)
    approximate = sign_flip_test(differences)
    assert exact.exact and not approximate.exact
    assert approximate.p_value == pytest.approx(exact.p_value, abs=0.005)


def brute_force_fisher(xb: int, nb: int, xc: int, nc: int) -> Fraction:
    """Every way to deal the observed passes among the attempts, counted: the share that
    gives the baseline at least ``xb`` of them."""
    passes = xb + xc
    deals = list(itertools.combinations(range(nb + nc), passes))
    hits = sum(1 for deal in deals if sum(1 for i in deal if i < nb) >= xb)
    return Fraction(hits, len(deals))


@pytest.mark.parametrize(
    "counts", [(4, 4, 0, 4), (5, 5, 0, 5), (4, 4, 1, 4), (3, 4, 0, 4), (2, 3, 2, 6), (0, 4, 3, 4)]
)
def test_fishers_one_sided_test_counts_every_deal_of_the_passes(
    counts: tuple[int, int, int, int],
) -> None:
    assert fisher_one_sided(*counts) == pytest.approx(float(brute_force_fisher(*counts)))


def test_fisher_knows_the_perfect_splits_and_gives_1_without_attempts() -> None:
    assert fisher_one_sided(4, 4, 0, 4) == pytest.approx(1 / 70)
    assert fisher_one_sided(6, 6, 0, 6) == pytest.approx(1 / 924)
    assert fisher_one_sided(0, 0, 0, 3) == 1.0


def test_the_wilson_upper_bound_is_one_sided_at_the_significance() -> None:
    bound = wilson_upper_bound(8, 10, 0.05)
    assert bound is not None
    # z = 1.6449: centre 0.7361, half-width 1.2946 * sqrt(0.016 + z^2 / 400) = 0.1953
    assert bound == pytest.approx(0.9314, abs=1e-4)
    wider = wilson_interval(8, 10)
    assert wider is not None and bound < wider.high  # one-sided 95% is two-sided 90%
    assert wilson_upper_bound(0, 0, 0.05) is None
