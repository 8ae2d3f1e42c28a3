"""The statistics against values derived by hand from their definitions."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from slm_math.evaluation.stats import (majority_answer, mcnemar_exact, paired_bootstrap,
                                       pass_at_k, wilson_interval)

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def test_wilson_closed_forms_at_the_ends():
    # 0/n: the interval is [0, z²/(n+z²)]; n/n: [n/(n+z²), 1]
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(Z95**2 / (10 + Z95**2), abs=1e-12)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + Z95**2), abs=1e-12)


def test_wilson_half_is_symmetric_and_matches_the_formula():
    low, high = wilson_interval(5, 10)
    half = Z95 * math.sqrt(0.25 / 10 + Z95**2 / 400) / (1 + Z95**2 / 10)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=5e-5)  # the textbook 5/10 interval


def test_wilson_is_narrower_with_more_data_and_contains_p():
    for n in (7, 50, 400):
        for s in (0, 1, n // 3, n):
            low, high = wilson_interval(s, n)
            assert 0 <= low <= s / n <= high <= 1
    assert wilson_interval(40, 100)[1] - wilson_interval(40, 100)[0] < wilson_interval(4, 10)[1] - wilson_interval(4, 10)[0]


def test_wilson_rejects_impossible_counts_and_handles_empty():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_pass_at_k_equals_the_combinatorial_definition():
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_by_enumerating_subsets():
    # n=5 samples, the first 2 correct: pass@2 is the share of 2-subsets holding a correct one
    subsets = list(combinations(range(5), 2))
    share = sum(1 for s in subsets if 0 in s or 1 in s) / len(subsets)
    assert pass_at_k(5, 2, 2) == pytest.approx(share)  # 7/10
    assert pass_at_k(5, 2, 1) == pytest.approx(2 / 5)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_majority_answer_ties_to_first_and_ignores_missing():
    assert majority_answer(["3", None, "5", "5", "3", None, None]) == "3"
    assert majority_answer(["5", "3", "3"]) == "3"
    assert majority_answer([None, None]) is None


def test_mcnemar_exact_against_binomial_sums():
    # 0 vs 5 discordant: p = 2 * 0.5^5
    a = [False] * 5 + [True] * 10
    b = [True] * 5 + [True] * 10
    test = mcnemar_exact(a, b)
    assert (test.a_only, test.b_only, test.n) == (0, 5, 15)
    assert test.p_value == pytest.approx(2 / 32)
    assert test.delta == pytest.approx(5 / 15)
    # 1 vs 9: p = 2 * (C(10,0) + C(10,1)) / 2^10
    a = [True] + [False] * 9 + [False] * 20
    b = [False] + [True] * 9 + [False] * 20
    assert mcnemar_exact(a, b).p_value == pytest.approx(2 * 11 / 1024)
    # no discordant pairs: nothing to test
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([True], [True, False])


def test_paired_bootstrap_extremes_and_determinism():
    same = [True, False] * 20
    delta, ci, p = paired_bootstrap(same, same, resamples=500)
    assert (delta, ci, p) == (0.0, (0.0, 0.0), 1.0)
    delta, ci, p = paired_bootstrap([False] * 40, [True] * 40, resamples=500)
    assert delta == 1.0 and ci == (1.0, 1.0) and p == 0.0
    a = [i % 3 == 0 for i in range(60)]
    b = [i % 2 == 0 for i in range(60)]
    first = paired_bootstrap(a, b, resamples=2000, seed=1)
    assert first == paired_bootstrap(a, b, resamples=2000, seed=1)
    delta, (low, high), p = first
    assert low <= delta <= high and 0 < p <= 1
