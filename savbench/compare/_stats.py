"""Paired significance tests between two systems scored on the same samples."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from savbench.metrics import resample_indices

Aggregate = Callable[[np.ndarray], float]


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial with p = 1/2)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap_ci(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    aggregate: Aggregate,
    *,
    resamples: int = 1000,
    seed: int = 0,
    clusters: Sequence[str | None] | None = None,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """CI of aggregate(A) - aggregate(B), resampling the shared samples jointly."""
    n = len(stats_a)
    if n < 2:
        return None
    diffs = []
    for idx in resample_indices(n, resamples=resamples, seed=seed, clusters=clusters):
        diffs.append(aggregate(stats_a[idx]) - aggregate(stats_b[idx]))
    values = np.asarray(diffs, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_permutation_p(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    aggregate: Aggregate,
    *,
    permutations: int = 1000,
    seed: int = 0,
    clusters: Sequence[str | None] | None = None,
) -> float:
    """Two-sided p-value of the approximate randomisation test: swap A and B per sample (or
    per cluster) at random and count differences at least as large as the observed one."""
    n = len(stats_a)
    if n == 0:
        return 1.0
    observed = abs(aggregate(stats_a) - aggregate(stats_b))
    rng = np.random.default_rng(seed)
    if clusters is not None and any(c is not None for c in clusters):
        labels = [c if c is not None else f"\0{i}" for i, c in enumerate(clusters)]
        uniques = {label: j for j, label in enumerate(dict.fromkeys(labels))}
        group = np.array([uniques[label] for label in labels])
        n_groups = len(uniques)
    else:
        group = np.arange(n)
        n_groups = n
    hits = 0
    shape = (n,) + (1,) * (stats_a.ndim - 1)
    for _ in range(permutations):
        swap = rng.random(n_groups) < 0.5
        mask = swap[group].reshape(shape)
        perm_a = np.where(mask, stats_b, stats_a)
        perm_b = np.where(mask, stats_a, stats_b)
        if abs(aggregate(perm_a) - aggregate(perm_b)) >= observed - 1e-12:
            hits += 1
    return (hits + 1) / (permutations + 1)
