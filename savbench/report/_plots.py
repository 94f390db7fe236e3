"""PNG charts with matplotlib: scores per task across runs, and modality reliance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from savbench.report._read import RunRecord


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_scores(runs: Sequence[RunRecord], path: Path) -> Path:
    """One horizontal bar per (task, run) on each task's primary metric, with 95 % CI whiskers."""
    from savbench.leaderboard import model_label

    plt = _pyplot()
    tasks = list(dict.fromkeys(t for run in runs for t in run.tasks))
    labels = [model_label(run.results) for run in runs]
    fig, axes = plt.subplots(
        len(tasks), 1, figsize=(8, 1.2 + 0.45 * len(runs) * max(1, len(tasks))), squeeze=False
    )
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        values, lows, highs, names = [], [], [], []
        metric_name, scale = "", ""
        for run, label in zip(runs, labels, strict=True):
            section = run.tasks.get(task)
            if not section or not section["metrics"]:
                continue
            metric_name, metric = next(iter(section["metrics"].items()))
            if metric.get("score") is None:
                continue
            scale = metric["scale"]
            ci = metric.get("ci") or (metric["score"], metric["score"])
            values.append(metric["score"])
            lows.append(metric["score"] - ci[0])
            highs.append(ci[1] - metric["score"])
            names.append(label)
        ax.barh(range(len(values)), values, xerr=[lows, highs], color="#4062bb", capsize=3)
        ax.set_yticks(range(len(values)), names, fontsize=8)
        ax.set_title(f"{task}: {metric_name} ({scale})", fontsize=9)
        ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliance(runs: Sequence[RunRecord], path: Path) -> Path | None:
    """Drop of the primary metric per task when each stream is removed; None without ablations."""
    from savbench.compare import reliance_table

    cells = reliance_table(list(runs))
    if not cells:
        return None
    plt = _pyplot()
    labels = [f"{c.task} − {c.stream}" for c in cells]
    drops = [c.drop or 0.0 for c in cells]
    errors = [
        [max(0.0, (c.drop or 0) - c.ci[0]) if c.ci else 0.0 for c in cells],
        [max(0.0, c.ci[1] - (c.drop or 0)) if c.ci else 0.0 for c in cells],
    ]
    fig, ax = plt.subplots(figsize=(8, 1 + 0.35 * len(cells)))
    colours = ["#c0392b" if d > 0 else "#7f8c8d" for d in drops]
    ax.barh(range(len(cells)), drops, xerr=errors, color=colours, capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(cells)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("score drop without the stream (positive: the model used it)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
