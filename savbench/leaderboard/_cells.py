"""Cells of the leaderboard: one score of one model on one task and metric, measured or published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from savbench.leaderboard._published import PublishedNumber
from savbench.report import RunRecord


@dataclass(frozen=True)
class Cell:
    """A score with its provenance.

    Args:
        model: Row label (model name, plus settings that make it a different system).
        task: Task name.
        metric: Metric name.
        score: The value, on the metric's own scale.
        scale: percent | fraction | score.
        direction: higher | lower.
        origin: ``measured`` or ``published``.
        ci: 95 % CI for measured cells.
        n: Samples scored (measured cells).
        source: Run id or paper/table.
    """

    model: str
    task: str
    metric: str
    score: float | None
    scale: str
    direction: str
    origin: str
    ci: tuple[float, float] | None = None
    n: int | None = None
    source: str = ""


def convert_scale(value: float, from_scale: str, to_scale: str) -> float:
    """Convert between ``percent`` (x100) and ``fraction``/``score`` (x1) writings of a number."""
    hundred = {"percent": 100.0, "fraction": 1.0, "score": 1.0}
    return value * hundred[to_scale] / hundred[from_scale]


def model_label(results: dict[str, Any]) -> str:
    """Row label of a measured run: the model, with the settings that make it another system."""
    model = results["model"]
    parts = [model["name"]]
    args = {k: v for k, v in (model.get("args") or {}).items() if k not in ("device", "dtype", "batch_size")}
    if args:
        parts.append("(" + ",".join(f"{k}={v}" for k, v in sorted(args.items())) + ")")
    config = results.get("config", {})
    if config.get("ablate"):
        parts.append("ablate=" + "+".join(config["ablate"]))
    if config.get("gen_kwargs"):
        parts.append("gen=" + ",".join(f"{k}={v}" for k, v in sorted(config["gen_kwargs"].items())))
    return " ".join(parts)


def measured_cells(run: RunRecord) -> list[Cell]:
    cells = []
    label = model_label(run.results)
    for task, section in run.tasks.items():
        for name, metric in section["metrics"].items():
            ci = metric.get("ci")
            cells.append(
                Cell(
                    model=label,
                    task=task,
                    metric=name,
                    score=metric.get("score"),
                    scale=metric["scale"],
                    direction=metric["direction"],
                    origin="measured",
                    ci=(ci[0], ci[1]) if ci else None,
                    n=section.get("n_scored"),
                    source=run.run_id,
                )
            )
    return cells


def canonical_scale(metric: str, fallback: str) -> str:
    """The scale savbench reports a metric on (published numbers are converted to it)."""
    try:
        from savbench.metrics import get_metric

        return get_metric(metric).scale
    except (KeyError, TypeError):
        return fallback


def published_cells(numbers: list[PublishedNumber]) -> list[Cell]:
    cells = []
    for number in numbers:
        if number.status != "ok" or number.score is None:
            continue
        scale = canonical_scale(number.metric, number.scale)
        cells.append(
            Cell(
                model=f"{number.model} [published{', ' + number.eval_setting if number.eval_setting else ''}]",
                task=number.task,
                metric=number.metric,
                score=convert_scale(number.score, number.scale, scale),
                scale=scale,
                direction=number.direction,
                origin="published",
                source=number.source,
            )
        )
    return cells
