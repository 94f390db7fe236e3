"""Scoring a task from stored predictions: the only place metrics meet samples.

Error rows are kept out of every score and counted; samples without any stored row are counted
as missing. Nothing here decodes media or calls a model.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from savbench.data import Sample
from savbench.metrics import MetricResult, ScoringInput, get_metric, metric_class
from savbench.tasks import LoadedTask

_DEGENERATE = re.compile(r"^\s*(.)\1{4,}\s*$", re.DOTALL)


@dataclass
class TaskScores:
    """Scores of one task.

    Args:
        task: Task name.
        metrics: Metric name -> result (corpus score, CI, definition).
        per_sample: Sample id -> metric name -> per-sample value.
        details: Sample id -> metric name -> what the metric noted (parsed answer, judge reply).
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
    details: dict[str, dict[str, Any]]
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


def build_metrics(
    task: LoadedTask, *, seed: int, bootstrap_samples: int, judge: Any | None = None
) -> dict[str, Any]:
    """Instantiate the task's metrics with the run's seed and bootstrap size.

    The task-level ``parser`` goes to every metric that takes a parser and was not given its
    own; judge settings go to metrics that call a judge.
    """
    names = [m.name for m in task.spec.metrics]
    metrics: dict[str, Any] = {}
    for spec in task.spec.metrics:
        options = spec.options()
        key = spec.name if names.count(spec.name) == 1 else metric_key(spec.name, options)
        cls = metric_class(spec.name)
        accepted = inspect.signature(cls.__init__).parameters
        if task.spec.parser is not None and "parser" in accepted and "parser" not in options:
            options["parser"] = task.spec.parser
        if getattr(cls, "needs_judge", False) and judge is not None:
            options["judge"] = judge
        metrics[key] = get_metric(spec.name, seed=seed, bootstrap_samples=bootstrap_samples, **options)
    return metrics


def score_task(
    task: LoadedTask,
    samples: Sequence[Sample],
    rows: Mapping[str, Mapping[str, Any]],
    *,
    seed: int = 0,
    bootstrap_samples: int = 1000,
    judge: Any | None = None,
) -> TaskScores:
    """Score one task.

    Args:
        task: The task spec.
        samples: The samples selected for the run (after offset/limit).
        rows: Sample id -> stored prediction row (``prediction`` or ``error``).
        seed: Seed of the bootstrap.
        bootstrap_samples: Bootstrap resamples per metric.
        judge: Judge endpoint settings for LLM-judged metrics.
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
    details: dict[str, dict[str, Any]] = {item.sample_id: {} for item in items}
    for key, metric in build_metrics(
        task, seed=seed, bootstrap_samples=bootstrap_samples, judge=judge
    ).items():
        result = metric.compute(items) if items else _empty_result(metric)
        results[key] = result
        if len(result.per_sample) == len(items):
            for item, value in zip(items, result.per_sample, strict=True):
                per_sample[item.sample_id][key] = value
        if len(result.details) == len(items):
            for item, detail in zip(items, result.details, strict=True):
                if detail:
                    details[item.sample_id][key] = detail
    return TaskScores(
        task=task.name,
        metrics=results,
        per_sample=per_sample,
        details=details,
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
