"""Rescoring a finished run from its stored outputs: new metrics, a judge, no model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from savbench._errors import SavbenchError
from savbench.data import Sample
from savbench.scoring._score import score_task
from savbench.tasks import LoadedTask, MetricSpec, TaskSpec

_RESULT_FIELDS = (
    "n_samples",
    "n_scored",
    "n_errors",
    "n_missing",
    "errors_by_kind",
    "output_flags",
    "metrics",
)


def parse_metric_option(text: str) -> MetricSpec:
    """``name`` or ``name:key=value,key=value`` as given to ``--metric``."""
    name, _, rest = text.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise SavbenchError(f"--metric {text!r}: expected NAME:key=value,...")
        options[key.strip()] = value.strip()
    return MetricSpec.model_validate({"name": name.strip(), **options})


def rescore_run(
    run: Any,
    *,
    add_metrics: Sequence[MetricSpec] = (),
    tasks: Sequence[str] | None = None,
    judge: Any | None = None,
    seed: int | None = None,
    bootstrap_samples: int | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Recompute a run's scores from samples.jsonl, optionally with extra metrics.

    Args:
        run: A :class:`savbench.report.RunRecord`.
        add_metrics: Metrics added to (or replacing same-named ones of) each task.
        tasks: Only these tasks (default: all of the run's).
        judge: Judge endpoint settings for ``llm_judge``.
        seed: Bootstrap seed (default: the run's).
        bootstrap_samples: Resamples (default: the run's).

    Returns:
        The updated results dict and sample rows, ready to be written back.
    """
    results = dict(run.results)
    config = results.get("config", {})
    seed = config.get("seed", 0) if seed is None else seed
    bootstrap_samples = (
        config.get("bootstrap_samples", 1000) if bootstrap_samples is None else bootstrap_samples
    )
    selected = list(tasks) if tasks else list(results["tasks"])
    unknown = sorted(set(selected) - set(results["tasks"]))
    if unknown:
        raise SavbenchError(f"{run.path}: the run has no task(s) {', '.join(unknown)}")
    rows_by_task: dict[str, list[dict[str, Any]]] = {}
    for row in run.samples():
        rows_by_task.setdefault(row["task"], []).append(row)
    new_tasks = dict(results["tasks"])
    out_rows: list[dict[str, Any]] = []
    for task_name, section in results["tasks"].items():
        rows = rows_by_task.get(task_name, [])
        if task_name not in selected:
            out_rows.extend(rows)
            continue
        spec_data = dict(section["spec"])
        metrics = [m for m in spec_data["metrics"] if m["name"] not in {a.name for a in add_metrics}]
        spec_data["metrics"] = metrics + [
            a.model_dump(exclude_defaults=False) | a.options() for a in add_metrics
        ]
        spec = TaskSpec.model_validate(spec_data)
        loaded = LoadedTask(spec=spec, path=Path(section.get("spec_path") or run.path / "results.json"))
        samples = [
            Sample(
                id=str(r["id"]), task=task_name, question=r.get("question") or "", choices=tuple(r.get("choices") or ()),
                references=tuple(r.get("references") or ()), cluster=r.get("cluster"), meta=r.get("meta") or {},
            )
            for r in rows
        ]  # fmt: skip
        stored = {
            str(r["id"]): {"prediction": r.get("prediction"), "error": r.get("error")}
            for r in rows
            if not (r.get("error") or {}).get("kind") == "missing"
        }
        scores = score_task(
            loaded, samples, stored, seed=seed, bootstrap_samples=bootstrap_samples, judge=judge
        )
        updated = {k: v for k, v in section.items() if k not in _RESULT_FIELDS}
        updated["spec"] = spec.model_dump(mode="json")
        updated.update(
            n_samples=scores.n_samples, n_scored=scores.n_scored, n_errors=scores.n_errors, n_missing=scores.n_missing,
            errors_by_kind=scores.errors_by_kind, output_flags=scores.output_flags,
            metrics={name: result.to_dict() for name, result in scores.metrics.items()},
        )  # fmt: skip
        new_tasks[task_name] = updated
        for row in rows:
            out_rows.append(
                {
                    **row,
                    "scores": scores.per_sample.get(str(row["id"]), {}),
                    "details": scores.details.get(str(row["id"]), {}),
                }
            )
    results["tasks"] = new_tasks
    history = list(results.get("rescored", []))
    history.append(
        {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "tasks": selected,
            "added_metrics": [a.name for a in add_metrics],
            "judge": judge.public() if judge is not None and hasattr(judge, "public") else None,
        }
    )
    results["rescored"] = history
    return results, out_rows
