"""Pieces every metric shares: option checks, cluster labels and the CI part of a definition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from savbench.metrics._base import Metric, ScoringInput
from savbench.metrics._bootstrap import bootstrap_ci


def clusters_of(items: Sequence[ScoringInput]) -> list[str | None] | None:
    """Cluster labels for the bootstrap, or None when no item has one."""
    labels = [item.cluster for item in items]
    return labels if any(label is not None for label in labels) else None


def check_choice(option: str, value: str, allowed: Sequence[str]) -> str:
    """Validate a string option from task YAML.

    Raises:
        ValueError: Naming the option, the value and the allowed values.
    """
    if value not in allowed:
        raise ValueError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def confidence_interval(
    metric: Metric,
    items: Sequence[ScoringInput],
    statistic: Callable[[np.ndarray], float],
    *,
    scale_factor: float = 1.0,
    resampled: str,
) -> tuple[tuple[float, float] | None, dict[str, Any]]:
    """Seeded percentile bootstrap of a corpus statistic and its description.

    Args:
        metric: The metric (its ``bootstrap_samples`` and ``seed`` are used).
        items: The scored items, in the order the statistic indexes them.
        statistic: Index array -> corpus score on the metric's own scale (before ``scale_factor``).
        scale_factor: Multiplier from the statistic to the reported scale (100 for percent).
        resampled: What one resample recomputes, for the definition.

    Returns:
        The interval (or None for fewer than two units) and the ``ci_*`` definition entries.
    """
    clusters = clusters_of(items)
    ci = bootstrap_ci(
        len(items), statistic, resamples=metric.bootstrap_samples, seed=metric.seed, clusters=clusters
    )
    if ci is not None:
        ci = (ci[0] * scale_factor, ci[1] * scale_factor)
    unit = (
        "clusters (ScoringInput.cluster; unlabelled samples are their own cluster)" if clusters else "samples"
    )
    n_units = (
        len({c if c is not None else f"\0{i}" for i, c in enumerate(clusters)}) if clusters else len(items)
    )
    return ci, {
        "ci_method": "percentile bootstrap, 95%",
        "ci_resampling_unit": unit,
        "ci_resampling_units": n_units,
        "ci_statistic": resampled,
        "bootstrap_samples": metric.bootstrap_samples,
        "seed": metric.seed,
    }
