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
    metric: Metric,
    items: list[ScoringInput],
    stored: list[float | None] | None = None,
    scale_factor: float | None = None,
) -> tuple[np.ndarray, Aggregate, list[float | None]]:
    """Per-sample sufficient statistics, the function that turns them into the corpus score,
    and the per-sample scores.

    Metrics whose corpus score is not a mean (WER, BLEU) provide ``sufficient_statistics`` and
    are recomputed from the text. For the others (means of per-sample scores) the scores stored
    in samples.jsonl are used when given (no Java start, no judge call), with ``scale_factor``
    converting their mean to the corpus scale (e.g. 0/1 per sample to percent).
    """
    provider = getattr(metric, "sufficient_statistics", None)
    if provider is not None:
        stats, aggregate = provider(items)
        return np.asarray(stats, dtype=np.float64), aggregate, metric.compute(items).per_sample
    if stored is not None and len(stored) == len(items):
        per_sample = list(stored)
        factor = 1.0 if scale_factor is None else scale_factor
    else:
        result = metric.compute(items)
        per_sample = result.per_sample
        factor = _scale_factor(per_sample, result.score)
    values = np.array([np.nan if v is None else v for v in per_sample], dtype=np.float64)
    if values.size != len(items):
        raise SavbenchError(
            f"metric {metric.name} gives no per-sample scores; it cannot be compared per sample"
        )

    def aggregate(stats: np.ndarray) -> float:
        return float(np.nanmean(stats[:, 0]) * factor)

    return values[:, None], aggregate, per_sample


def _scale_factor(per_sample: list[float | None], score: float | None) -> float:
    """Corpus score / mean per-sample score (1 for CIDEr or judge scores, 100 for 0/1 accuracy)."""
    values = [v for v in per_sample if v is not None]
    if score is None or not values or float(np.mean(values)) == 0.0:
        return 1.0
    return score / float(np.mean(values))


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
            scores = (a.tasks[task]["metrics"].get(spec["name"], {}).get("score"),
                      b.tasks[task]["metrics"].get(spec["name"], {}).get("score"))  # fmt: skip
            try:
                comparisons.append(
                    _compare_metric(
                        task,
                        metric,
                        rows_a.get(task, {}),
                        rows_b.get(task, {}),
                        shared,
                        resamples,
                        seed,
                        scores,
                    )
                )
            except (ValueError, SavbenchError) as exc:  # one unscorable task must not sink the comparison
                comparisons.append(
                    Comparison(task, metric.name, len(shared), None, None, None, None, None, f"error: {exc}", 0, 0,
                               metric.direction, metric.scale)
                )  # fmt: skip
    return comparisons


def _stored(rows: dict, ids: list[str], key: str) -> list[float | None] | None:
    values = [rows[i].get("scores", {}).get(key) for i in ids]
    return values if any(key in rows[i].get("scores", {}) for i in ids) else None


def _compare_metric(
    task: str,
    metric: Metric,
    rows_a: dict,
    rows_b: dict,
    shared: list[str],
    resamples: int,
    seed: int,
    corpus_scores: tuple[float | None, float | None] = (None, None),
) -> Comparison:
    if not shared:
        return Comparison(
            task, metric.name, 0, None, None, None, None, None, "none", 0, 0, metric.direction, metric.scale
        )
    items_a, items_b = _items(rows_a, shared), _items(rows_b, shared)
    stored_a, stored_b = _stored(rows_a, shared, metric.name), _stored(rows_b, shared, metric.name)
    factor = None
    if stored_a is not None and stored_b is not None:
        # The stored corpus score covers every sample of run A: it fixes the per-sample -> corpus scale.
        for rows, score in ((rows_a, corpus_scores[0]), (rows_b, corpus_scores[1])):
            values = [v for v in _stored(rows, sorted(rows), metric.name) or [] if v is not None]
            if any(values) and score:  # a run whose samples all score 0 cannot tell the scale
                factor = _scale_factor(values, score)
                break
    else:
        stored_a = stored_b = None
    stats_a, aggregate, per_a = paired_statistics(metric, items_a, stored_a, factor)
    stats_b, _, per_b = paired_statistics(metric, items_b, stored_b, factor)
    if not any(va is not None and vb is not None for va, vb in zip(per_a, per_b, strict=True)):
        # e.g. SPICE without Java: nothing to pair, and a mean of nothing is no score
        return Comparison(task, metric.name, len(shared), None, None, None, None, None,
                          "none: no sample has a score in both runs", 0, 0, metric.direction, metric.scale)  # fmt: skip
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
