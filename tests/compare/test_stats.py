from __future__ import annotations

import math

import numpy as np
import pytest

from savbench.compare import mcnemar_exact, paired_bootstrap_ci, paired_permutation_p


def test_mcnemar_matches_binomial_tail() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    # 10 vs 0 discordant: 2 * 0.5**10
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    expected = 2 * sum(math.comb(20, k) for k in range(5)) / 2**20
    assert mcnemar_exact(15, 4) == pytest.approx(2 * sum(math.comb(19, k) for k in range(5)) / 2**19)
    assert mcnemar_exact(4, 16) == pytest.approx(expected)


def mean(stats: np.ndarray) -> float:
    return float(stats[:, 0].mean())


def test_permutation_detects_a_real_difference_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, size=(200, 1))
    shifted = a + 0.5 + rng.normal(0, 0.1, size=a.shape)
    noise = a + rng.normal(0, 0.1, size=a.shape)
    assert paired_permutation_p(shifted, a, mean, permutations=500) < 0.01
    assert paired_permutation_p(noise, a, mean, permutations=500) > 0.05


def test_paired_bootstrap_ci_covers_the_difference() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(1.0, 1.0, size=(300, 1))
    b = a - 0.3 + rng.normal(0, 0.2, size=a.shape)
    low, high = paired_bootstrap_ci(a, b, mean, resamples=500, seed=0)
    assert low < 0.3 < high and low > 0
    assert paired_bootstrap_ci(a, b, mean, resamples=500, seed=0) == (low, high)


def test_clustered_permutation_moves_clusters_together() -> None:
    # Ten clusters of 20 identical items: with clustering there are only 2**10 swaps.
    a = np.repeat(np.arange(10, dtype=float), 20)[:, None]
    b = a - 1.0
    clusters = [str(i // 20) for i in range(200)]
    p = paired_permutation_p(a, b, mean, permutations=300, clusters=clusters)
    assert p < 0.05
