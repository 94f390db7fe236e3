"""Modality reliance: how much a score drops when one stream is replaced by neutral input.

Built from a model's unablated run and its ablated runs (``savbench run --ablate ...``): for
each task and its primary metric, the full score, the score with each stream removed, and the
drop with a paired bootstrap CI on the samples both runs scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from savbench.compare._compare import compare_runs
from savbench.report import RunRecord


@dataclass
class RelianceCell:
    task: str
    metric: str
    stream: str
    full: float | None
    ablated: float | None
    drop: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    n: int
    direction: str
    scale: str


def _ablation(run: RunRecord) -> tuple[str, ...]:
    return tuple(sorted(run.results.get("config", {}).get("ablate") or ()))


def _system(run: RunRecord) -> tuple:
    model = run.results["model"]
    config = run.results.get("config", {})
    return (
        model["name"],
        tuple(sorted((model.get("args") or {}).items())),
        tuple(sorted((config.get("gen_kwargs") or {}).items())),
    )


def reliance_table(runs: list[RunRecord], *, resamples: int = 1000, seed: int = 0) -> list[RelianceCell]:
    """Reliance cells for every system that has an unablated run and single-stream ablations.

    The drop is ``full - ablated`` for higher-is-better metrics and ``ablated - full`` for
    lower-is-better ones, so a positive drop always means the model needed the stream.
    """
    cells: list[RelianceCell] = []
    by_system: dict[tuple, dict[tuple[str, ...], RunRecord]] = {}
    for run in runs:
        by_system.setdefault(_system(run), {})[_ablation(run)] = run  # later runs replace earlier ones
    for variants in by_system.values():
        full = variants.get(())
        if full is None:
            continue
        for ablation, ablated_run in sorted(variants.items()):
            if len(ablation) != 1:
                continue
            primary = {task: _primary_metric(section) for task, section in full.tasks.items()}
            for comparison in compare_runs(full, ablated_run, resamples=resamples, seed=seed):
                if comparison.metric != primary.get(comparison.task):
                    continue
                sign = 1 if comparison.direction == "higher" else -1
                ci = None
                if comparison.ci is not None:
                    low, high = sorted((sign * comparison.ci[0], sign * comparison.ci[1]))
                    ci = (low, high)
                cells.append(
                    RelianceCell(
                        task=comparison.task,
                        metric=comparison.metric,
                        stream=ablation[0],
                        full=comparison.score_a,
                        ablated=comparison.score_b,
                        drop=None if comparison.difference is None else sign * comparison.difference,
                        ci=ci,
                        p_value=comparison.p_value,
                        n=comparison.n_shared,
                        direction=comparison.direction,
                        scale=comparison.scale,
                    )
                )
    return cells


def _primary_metric(section: dict) -> str | None:
    specs = section.get("spec", {}).get("metrics", [])
    for spec in specs:
        if spec.get("primary"):
            return spec["name"]
    return specs[0]["name"] if specs else None
