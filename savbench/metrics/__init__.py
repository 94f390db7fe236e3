"""Metrics: predictions + references -> corpus score, per-sample scores, confidence interval."""

from savbench.metrics._base import (
    Metric,
    MetricResult,
    ScoringInput,
    get_metric,
    metric_names,
    register_metric,
)
from savbench.metrics._bootstrap import bootstrap_ci, mean_statistic, ratio_statistic, resample_indices

__all__ = [
    "Metric",
    "MetricResult",
    "ScoringInput",
    "bootstrap_ci",
    "get_metric",
    "mean_statistic",
    "metric_names",
    "ratio_statistic",
    "register_metric",
    "resample_indices",
]
