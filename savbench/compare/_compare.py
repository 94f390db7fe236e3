"""``savbench compare``: two runs on the samples they share, with paired tests.

Predictions are read back from the run folders and re-scored with the task's metrics; no model
runs. For each task and metric: both scores on the shared samples, the difference with a paired
bootstrap CI, a p-value (exact McNemar for 0/1 metrics, an approximate randomisation test
otherwise) and how many samples each run got right (or better) where the other did not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from savbench._errors import SavbenchError
from savbench.compare._stats import Aggregate, mcnemar_exact, paired_bootstrap_ci, paired_permutation_p
from savbench.metrics import Metric, ScoringInput, get_metric
from savbench.report import RunRecord


@dataclass
class Comparison:
    task: str
    metric: str
    n_shared: int
    score_a: float | None
    score_b: float | None
    difference: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    test: str
    a_better: int
    b_better: int
    direction: str
    scale: str

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["significant"] = self.significant
        return data


def paired_statistics(
    metric: Metric, items: list[ScoringInput]
) -> tuple[np.ndarray, Aggregate, list[float | None]]:
    """Per-sample sufficient statistics, the function that turns them into the corpus score,
    and the per-sample scores.

    Metrics whose corpus score is not a mean (WER, BLEU) provide ``sufficient_statistics``;
    for the others the per-sample scores are averaged.
    """
    result = metric.compute(items)
    provider = getattr(metric, "sufficient_statistics", None)
    if provider is not None:
        stats, aggregate = provider(items)
        return np.asarray(stats, dtype=np.float64), aggregate, result.per_sample
    values = np.array([np.nan if v is None else v for v in result.per_sample], dtype=np.float64)
    if values.size != len(items):
        raise SavbenchError(
            f"metric {metric.name} gives no per-sample scores; it cannot be compared per sample"
        )
    mean = float(np.nanmean(values)) if values.size else 0.0
    factor = (
        result.score / mean if result.score is not None and mean not in (0.0,) and np.isfinite(mean) else 1.0
    )

    def aggregate(stats: np.ndarray) -> float:
        return float(np.nanmean(stats[:, 0]) * factor)

    return values[:, None], aggregate, result.per_sample


def _items(rows: dict[str, dict[str, Any]], ids: list[str]) -> list[ScoringInput]:
    return [
        ScoringInput(
            sample_id=i,
            prediction=rows[i]["prediction"] or "",
            references=tuple(rows[i]["references"]),
            choices=tuple(rows[i].get("choices") or ()),
            question=rows[i].get("question") or "",
            cluster=rows[i].get("cluster"),
        )
        for i in ids
    ]


def _scored_rows(run: RunRecord) -> dict[str, dict[str, dict[str, Any]]]:
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for row in run.samples():
        if row.get("error") or row.get("prediction") is None:
            continue
        by_task.setdefault(row["task"], {})[str(row["id"])] = row
    return by_task


def compare_runs(a: RunRecord, b: RunRecord, *, resamples: int = 1000, seed: int = 0) -> list[Comparison]:
    """Compare run ``a`` with run ``b`` on every task both scored."""
    rows_a, rows_b = _scored_rows(a), _scored_rows(b)
    comparisons = []
    for task in sorted(set(a.tasks) & set(b.tasks)):
        shared = sorted(set(rows_a.get(task, {})) & set(rows_b.get(task, {})))
        metric_specs = a.tasks[task].get("spec", {}).get("metrics", [])
        for spec in metric_specs:
            options = {k: v for k, v in spec.items() if k not in ("name", "primary")}
            metric = get_metric(spec["name"], seed=seed, bootstrap_samples=resamples, **options)
            comparisons.append(
                _compare_metric(
                    task,
                    metric,
                    rows_a[task] if shared else {},
                    rows_b.get(task, {}),
                    shared,
                    resamples,
                    seed,
                )
            )
    return comparisons


def _compare_metric(
    task: str, metric: Metric, rows_a: dict, rows_b: dict, shared: list[str], resamples: int, seed: int
) -> Comparison:
    if not shared:
        return Comparison(
            task, metric.name, 0, None, None, None, None, None, "none", 0, 0, metric.direction, metric.scale
        )
    items_a, items_b = _items(rows_a, shared), _items(rows_b, shared)
    stats_a, aggregate, per_a = paired_statistics(metric, items_a)
    stats_b, _, per_b = paired_statistics(metric, items_b)
    score_a, score_b = aggregate(stats_a), aggregate(stats_b)
    clusters = [item.cluster for item in items_a]
    sign = 1 if metric.direction == "higher" else -1
    a_better = b_better = 0
    for va, vb in zip(per_a, per_b, strict=True):
        if va is None or vb is None:
            continue
        if sign * (va - vb) > 1e-12:
            a_better += 1
        elif sign * (vb - va) > 1e-12:
            b_better += 1
    binary = all(v in (None, 0, 1, 0.0, 1.0, 100.0) for v in [*per_a, *per_b])
    if binary:
        p_value, test = mcnemar_exact(a_better, b_better), "mcnemar_exact"
    else:
        p_value = paired_permutation_p(
            stats_a, stats_b, aggregate, permutations=resamples, seed=seed, clusters=clusters
        )
        test = "paired_permutation"
    ci = paired_bootstrap_ci(stats_a, stats_b, aggregate, resamples=resamples, seed=seed, clusters=clusters)
    return Comparison(
        task=task,
        metric=metric.name,
        n_shared=len(shared),
        score_a=score_a,
        score_b=score_b,
        difference=score_a - score_b,
        ci=ci,
        p_value=p_value,
        test=test,
        a_better=a_better,
        b_better=b_better,
        direction=metric.direction,
        scale=metric.scale,
    )
