"""Build run folders for tests of the commands that read them (leaderboard, check, report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from savbench.report import write_run_files


def metric(
    score: float | None, ci: tuple[float, float] | None, *, direction: str = "higher", scale: str = "percent"
) -> dict[str, Any]:
    return {
        "metric": "m", "score": score, "ci": list(ci) if ci else None, "n": 10, "direction": direction,
        "scale": scale, "definition": {"aggregation": "test"}, "unavailable": None,
    }  # fmt: skip


def make_run(
    folder: Path,
    model: str,
    tasks: dict[str, dict[str, dict[str, Any]]],
    *,
    args: dict[str, str] | None = None,
    ablate: list[str] | None = None,
    created: str = "2026-01-01T00:00:00+00:00",
    samples: list[dict[str, Any]] | None = None,
    digest: str = "digest",
) -> Path:
    """``tasks``: task -> metric name -> metric dict (see :func:`metric`)."""
    results = {
        "run_id": folder.name,
        "created_at": created,
        "model": {"name": model, "args": args or {}, "fingerprint": {}, "modalities": []},
        "config": {"ablate": ablate or [], "gen_kwargs": {}, "seed": 0},
        "tasks": {
            name: {
                "n_samples": 10,
                "n_scored": 10,
                "n_errors": 0,
                "n_missing": 0,
                "errors_by_kind": {},
                "predictions_sha256": f"{digest}-{name}",
                "spec": {"metrics": [{"name": m} for m in metrics]},
                "metrics": metrics,
            }
            for name, metrics in tasks.items()
        },  # fmt: skip
    }
    write_run_files(folder, results, samples or [])
    return folder
