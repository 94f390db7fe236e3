"""Turning stored predictions into scores (metrics meet samples here, and only here)."""

from savbench.scoring._rescore import parse_metric_option, rescore_run
from savbench.scoring._score import TaskScores, build_metrics, metric_key, score_task

__all__ = ["TaskScores", "build_metrics", "metric_key", "parse_metric_option", "rescore_run", "score_task"]
