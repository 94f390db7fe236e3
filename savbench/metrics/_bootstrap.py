"""Seeded percentile bootstrap for corpus scores.

Resampling is over samples (utterances, captions, questions) or, when clusters are given, over
clusters (e.g. all questions about one video move together). The statistic is recomputed on
every resample, so corpus-level scores such as WER (sum of edits over sum of reference words)
get an honest interval rather than a mean-of-ratios approximation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_RESAMPLES = 1000


def resample_indices(
    n: int,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    clusters: Sequence[str | None] | None = None,
) -> list[np.ndarray]:
    """Draw bootstrap index sets over ``n`` items.

    Args:
        n: Number of items.
        resamples: Number of bootstrap resamples.
        seed: Seed of the generator; equal seeds give equal draws.
        clusters: Optional cluster label per item. Items without a label form their own cluster.

    Returns:
        One index array per resample (indices may repeat).
    """
    rng = np.random.default_rng(seed)
    if clusters is None or all(c is None for c in clusters):
        return list(rng.integers(0, n, size=(resamples, n)))
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(clusters):
        groups.setdefault(label if label is not None else f"\0item{i}", []).append(i)
    members = [np.asarray(v) for v in groups.values()]
    draws = rng.integers(0, len(members), size=(resamples, len(members)))
    return [np.concatenate([members[j] for j in row]) for row in draws]


def bootstrap_ci(
    n: int,
    statistic: Callable[[np.ndarray], float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    clusters: Sequence[str | None] | None = None,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic``.

    Args:
        n: Number of items.
        statistic: Maps an index array to the corpus score of those items.
        resamples: Number of resamples.
        seed: Seed; the interval is reproducible for a given seed.
        clusters: Optional cluster label per item, for clustered resampling.
        level: Coverage of the interval.

    Returns:
        (low, high), or None when there are fewer than two items.
    """
    if n < 2:
        return None
    values = np.array(
        [statistic(idx) for idx in resample_indices(n, resamples=resamples, seed=seed, clusters=clusters)],
        dtype=np.float64,
    )
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def ratio_statistic(
    numerators: Sequence[float], denominators: Sequence[float]
) -> Callable[[np.ndarray], float]:
    """Statistic sum(num[idx]) / sum(den[idx]), e.g. corpus WER from per-utterance edits and lengths."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)

    def statistic(idx: np.ndarray) -> float:
        total = den[idx].sum()
        return float(num[idx].sum() / total) if total > 0 else float("nan")

    return statistic


def mean_statistic(values: Sequence[float]) -> Callable[[np.ndarray], float]:
    """Statistic mean(values[idx]), e.g. accuracy from per-sample 0/1 scores."""
    arr = np.asarray(values, dtype=np.float64)

    def statistic(idx: np.ndarray) -> float:
        return float(arr[idx].mean())

    return statistic
