"""Scoring a task from stored predictions: the only place metrics meet samples.

Error rows are kept out of every score and counted; samples without any stored row are counted
as missing. Nothing here decodes media or calls a model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from savbench.data import Sample
from savbench.metrics import MetricResult, ScoringInput, get_metric
from savbench.tasks import LoadedTask

_DEGENERATE = re.compile(r"^\s*(.)\1{4,}\s*$", re.DOTALL)


@dataclass
class TaskScores:
    """Scores of one task.

    Args:
        task: Task name.
        metrics: Metric name -> result (corpus score, CI, definition).
        per_sample: Sample id -> metric name -> per-sample value.
        n_samples: Samples selected for the run.
        n_scored: Samples with a prediction that entered the scores.
        n_errors: Samples with an error row.
        n_missing: Samples with no stored row at all (an interrupted run).
        errors_by_kind: Error kind -> count.
        output_flags: Counts of suspicious outputs (empty, degenerate) that were scored.
    """

    task: str
    metrics: dict[str, MetricResult]
    per_sample: dict[str, dict[str, float | None]]
    n_samples: int
    n_scored: int
    n_errors: int
    n_missing: int
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    output_flags: dict[str, int] = field(default_factory=dict)


def metric_key(name: str, options: Mapping[str, Any]) -> str:
    """Report key of a metric: its name, plus its options when a task lists it twice."""
    if not options:
        return name
    return name + "[" + ",".join(f"{k}={v}" for k, v in sorted(options.items())) + "]"


def build_metrics(task: LoadedTask, *, seed: int, bootstrap_samples: int) -> dict[str, Any]:
    """Instantiate the task's metrics with the run's seed and bootstrap size."""
    names = [m.name for m in task.spec.metrics]
    metrics: dict[str, Any] = {}
    for spec in task.spec.metrics:
        options = spec.options()
        key = spec.name if names.count(spec.name) == 1 else metric_key(spec.name, options)
        metrics[key] = get_metric(spec.name, seed=seed, bootstrap_samples=bootstrap_samples, **options)
    return metrics


def score_task(
    task: LoadedTask,
    samples: Sequence[Sample],
    rows: Mapping[str, Mapping[str, Any]],
    *,
    seed: int = 0,
    bootstrap_samples: int = 1000,
) -> TaskScores:
    """Score one task.

    Args:
        task: The task spec.
        samples: The samples selected for the run (after offset/limit).
        rows: Sample id -> stored prediction row (``prediction`` or ``error``).
        seed: Seed of the bootstrap.
        bootstrap_samples: Bootstrap resamples per metric.
    """
    items: list[ScoringInput] = []
    errors: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    missing = 0
    for sample in samples:
        row = rows.get(sample.id)
        if row is None:
            missing += 1
            continue
        if row.get("error"):
            errors[row["error"].get("kind", "error")] += 1
            continue
        prediction = row.get("prediction") or ""
        if not prediction.strip():
            flags["empty"] += 1
        elif _DEGENERATE.match(prediction):
            flags["degenerate"] += 1
        items.append(
            ScoringInput(
                sample_id=sample.id,
                prediction=prediction,
                references=sample.references,
                choices=sample.choices,
                question=sample.question,
                cluster=sample.cluster,
            )
        )
    results: dict[str, MetricResult] = {}
    per_sample: dict[str, dict[str, float | None]] = {item.sample_id: {} for item in items}
    for key, metric in build_metrics(task, seed=seed, bootstrap_samples=bootstrap_samples).items():
        result = metric.compute(items) if items else _empty_result(metric)
        results[key] = result
        if len(result.per_sample) == len(items):
            for item, value in zip(items, result.per_sample, strict=True):
                per_sample[item.sample_id][key] = value
    return TaskScores(
        task=task.name,
        metrics=results,
        per_sample=per_sample,
        n_samples=len(samples),
        n_scored=len(items),
        n_errors=sum(errors.values()),
        n_missing=missing,
        errors_by_kind=dict(errors),
        output_flags=dict(flags),
    )


def _empty_result(metric: Any) -> MetricResult:
    return MetricResult(
        metric=metric.name,
        score=None,
        per_sample=[],
        ci=None,
        n=0,
        direction=metric.direction,
        scale=metric.scale,
        definition=metric.settings(),
        unavailable="no sample was scored",
    )
