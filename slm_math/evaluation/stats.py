"""The statistics behind every number the evaluation reports.

- `wilson_interval`: a 95% (by default) confidence interval for a proportion; unlike the
  normal approximation it stays inside [0, 1] and is honest at 0/n and n/n.
- `pass_at_k`: the unbiased estimator of Chen et al. 2021 (Codex paper): the chance that at
  least one of k samples drawn from the n generated is correct.
- `majority_answer`: the most frequent extracted answer (maj@k), ties to the first seen.
- `mcnemar_exact`: the exact (binomial) McNemar test on paired correct/incorrect outcomes.
- `paired_bootstrap`: a bootstrap interval and two-sided p-value for a paired difference.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, norm


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n`; (0.0, 1.0) when n is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    if n == 0:
        return (0.0, 1.0)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the ends (float noise would give 0/n a low bound of 5e-17)
    low = 0.0 if successes == 0 else max(0.0, float(centre - half))
    high = 1.0 if successes == n else min(1.0, float(centre + half))
    return (low, high)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from `n` samples of which `c` are correct: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # the product form of Chen et al., stable for large n
    prob_all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_wrong *= 1.0 - k / i
    return 1.0 - prob_all_wrong


def majority_answer(answers: Sequence[Hashable | None]) -> Hashable | None:
    """The most frequent non-None answer; ties go to the one seen first; None if none."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == best)


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of B against A on the same problems.

    n: paired problems; a_only / b_only: problems only A / only B got right (discordant);
    delta: accuracy(B) - accuracy(A); p_value: two-sided.
    """

    n: int
    a_only: int
    b_only: int
    delta: float
    p_value: float


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> PairedTest:
    """McNemar's exact test: under H0 the discordant pairs split Binomial(a_only + b_only, 1/2)."""
    if len(a_correct) != len(b_correct):
        raise ValueError(f"paired outcomes differ in length: {len(a_correct)} vs {len(b_correct)}")
    a_only = sum(1 for a, b in zip(a_correct, b_correct) if a and not b)
    b_only = sum(1 for a, b in zip(a_correct, b_correct) if b and not a)
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else binomtest(b_only, discordant, 0.5).pvalue
    n = len(a_correct)
    delta = (b_only - a_only) / n if n else 0.0
    return PairedTest(n, a_only, b_only, delta, min(1.0, float(p)))


def paired_bootstrap(a_correct: Sequence[bool], b_correct: Sequence[bool], *,
                     resamples: int = 10_000, confidence: float = 0.95,
                     seed: int = 0) -> tuple[float, tuple[float, float], float]:
    """Bootstrap over problems of accuracy(B) - accuracy(A).

    Returns (delta, (low, high) percentile interval, two-sided p-value), the p-value being
    twice the smaller share of resampled deltas on either side of zero (capped at 1).
    """
    if len(a_correct) != len(b_correct):
        raise ValueError(f"paired outcomes differ in length: {len(a_correct)} vs {len(b_correct)}")
    n = len(a_correct)
    if n == 0:
        return 0.0, (0.0, 0.0), 1.0
    diffs = np.array([int(bool(b)) - int(bool(a)) for a, b in zip(a_correct, b_correct)])
    delta = float(diffs.mean())
    rng = np.random.default_rng(seed)
    stats = np.concatenate([diffs[rng.integers(0, n, size=(min(1000, resamples - start), n))].mean(axis=1)
                            for start in range(0, resamples, 1000)])  # in chunks: bounded memory
    tail = (1 - confidence) / 2
    low, high = np.quantile(stats, [tail, 1 - tail])
    p = min(1.0, 2 * min(float((stats <= 0).mean()), float((stats >= 0).mean())))
    return delta, (float(low), float(high)), p
