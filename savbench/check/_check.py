"""Regression check: a run against published numbers or a committed baseline.

A score counts as a regression when it is worse than the reference by more than the tolerance,
in the metric's direction (a higher WER is worse). The default tolerance is the run's own 95 %
confidence interval: the reference must lie inside the interval or on its better side. With
``exact``, any change in either direction fails, and so do changed predictions (a baseline
records a digest of them), which is what a deterministic model in CI needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from savbench._errors import SavbenchError
from savbench._io import atomic_write_json
from savbench.leaderboard import PublishedNumber, canonical_scale, convert_scale
from savbench.report import RunRecord

BASELINE_KIND = "savbench-baseline"


@dataclass(frozen=True)
class Reference:
    """A number a run is held to."""

    task: str
    metric: str
    score: float
    scale: str
    direction: str
    source: str
    predictions_sha256: str | None = None


@dataclass
class CheckRow:
    task: str
    metric: str
    measured: float | None
    reference: float
    delta: float | None
    tolerance: float | None
    direction: str
    status: str  # ok | better | worse | changed | missing | predictions changed
    source: str


@dataclass
class CheckReport:
    rows: list[CheckRow] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckRow]:
        return [r for r in self.rows if r.status in ("worse", "changed", "missing", "predictions changed")]

    @property
    def passed(self) -> bool:
        return not self.failed


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def references_from_published(
    numbers: list[PublishedNumber], model: str, tasks: set[str] | None = None
) -> list[Reference]:
    """Published numbers of ``model`` (matched ignoring case and punctuation), on savbench's scale."""
    wanted = _normalise_name(model)
    refs: dict[tuple[str, str], Reference] = {}
    for number in numbers:
        if number.status != "ok" or number.score is None or _normalise_name(number.model) != wanted:
            continue
        if tasks is not None and number.task not in tasks:
            continue
        scale = canonical_scale(number.metric, number.scale)
        refs.setdefault(
            (number.task, number.metric),
            Reference(
                task=number.task,
                metric=number.metric,
                score=convert_scale(number.score, number.scale, scale),
                scale=scale,
                direction=number.direction,
                source=f"{number.source} ({number.model})",
            ),
        )
    return list(refs.values())


def references_from_file(path: Path) -> list[Reference]:
    """A baseline written by ``savbench check --write-baseline`` or another run's results.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavbenchError(f"{path}: cannot read baseline: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
        raise SavbenchError(f"{path}: tasks: missing; not a baseline or results.json")
    refs = []
    for task, section in data["tasks"].items():
        for name, metric in (section.get("metrics") or {}).items():
            if metric.get("score") is None:
                continue
            try:
                refs.append(
                    Reference(
                        task=task,
                        metric=name,
                        score=float(metric["score"]),
                        scale=metric["scale"],
                        direction=metric["direction"],
                        source=str(path),
                        predictions_sha256=section.get("predictions_sha256"),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise SavbenchError(f"{path}: tasks.{task}.metrics.{name}: {exc}") from None
    return refs


def write_baseline(run: RunRecord, path: Path) -> None:
    """Freeze a run's scores and prediction digests as a baseline for later checks."""
    config = run.results.get("config", {})
    atomic_write_json(
        path,
        {
            "kind": BASELINE_KIND,
            "created_from": run.run_id,
            "model": run.results["model"]["name"],
            "model_args": run.results["model"].get("args", {}),
            "config": {
                k: config.get(k) for k in ("tasks", "limit", "offset", "seed", "gen_kwargs", "ablate")
            },
            "tasks": {
                task: {
                    "n_scored": section.get("n_scored"),
                    "n_errors": section.get("n_errors"),
                    "predictions_sha256": section.get("predictions_sha256"),
                    "metrics": {
                        name: {k: m.get(k) for k in ("score", "ci", "scale", "direction")}
                        for name, m in section["metrics"].items()
                    },
                }
                for task, section in run.tasks.items()
            },
        },
    )


def _worse_by(measured: float, reference: float, direction: str) -> float:
    return reference - measured if direction == "higher" else measured - reference


def check_run(
    run: RunRecord,
    references: list[Reference],
    *,
    tolerance: float | dict[str, float] | None = None,
    exact: bool = False,
) -> CheckReport:
    """Compare a run with references.

    Args:
        run: The run.
        references: Numbers to hold it to.
        tolerance: Absolute slack on the metric's scale: one value for all metrics, or per metric
            name. None uses the run's CI (or 0 with ``exact``).
        exact: Fail on any change in either direction and on changed predictions.
    """
    report = CheckReport()
    for ref in references:
        section = run.tasks.get(ref.task)
        metric = (section or {}).get("metrics", {}).get(ref.metric)
        if metric is None or metric.get("score") is None:
            report.rows.append(
                CheckRow(
                    ref.task, ref.metric, None, ref.score, None, None, ref.direction, "missing", ref.source
                )
            )
            continue
        measured = convert_scale(float(metric["score"]), metric["scale"], ref.scale)
        if isinstance(tolerance, dict):
            tol = tolerance.get(ref.metric)
        else:
            tol = tolerance
        ci = metric.get("ci")
        worse = _worse_by(measured, ref.score, ref.direction)
        if tol is None and not exact and ci:
            low, high = (convert_scale(v, metric["scale"], ref.scale) for v in ci)
            # Worse only when the reference lies beyond the CI: above it (higher is better) or below it.
            tol = max(0.0, (high - measured) if ref.direction == "higher" else (measured - low))
        elif tol is None:
            tol = 0.0
        is_worse = worse > tol + 1e-12
        delta = measured - ref.score
        if exact and abs(delta) > tol + 1e-12:
            status = "changed"
        elif is_worse:
            status = "worse"
        elif worse < -1e-12:
            status = "better"
        else:
            status = "ok"
        if (
            exact
            and status == "ok"
            and ref.predictions_sha256
            and section.get("predictions_sha256") != ref.predictions_sha256
        ):
            status = "predictions changed"
        report.rows.append(
            CheckRow(ref.task, ref.metric, measured, ref.score, delta, tol, ref.direction, status, ref.source)
        )
    return report


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def report_rows(report: CheckReport, only_failed: bool = False) -> list[list[str]]:
    rows = []
    for row in report.rows:
        if only_failed and row not in report.failed:
            continue
        rows.append(
            [
                row.task,
                row.metric,
                _fmt(row.measured),
                _fmt(row.reference),
                "n/a" if row.delta is None else f"{row.delta:+.4g}",
                _fmt(row.tolerance),
                "↑" if row.direction == "higher" else "↓",
                row.status,
            ]
        )
    return rows
