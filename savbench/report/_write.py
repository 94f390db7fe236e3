"""The run folder: ``results.json`` (scores and how they were made) and ``samples.jsonl``.

Both are written atomically. Every other command (leaderboard, check, compare, report, plot)
reads these files and never recomputes a model output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from savbench._io import atomic_write_json, atomic_write_jsonl
from savbench.data import Sample
from savbench.scoring import TaskScores

RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
FORMAT_VERSION = 1


def predictions_digest(samples: Sequence[Sample], rows: Mapping[str, Mapping[str, Any]]) -> str:
    """sha256 over (id, prediction or error kind) of the selected samples, in id order.

    Equal digests mean a model produced the same outputs; baselines use it to catch changes in
    decoding or prompting that happen not to move a score.
    """
    digest = hashlib.sha256()
    for sample_id in sorted(s.id for s in samples):
        row = rows.get(sample_id) or {}
        error = row.get("error")
        outcome = (
            f"error:{error.get('kind')}" if error else f"ok:{row.get('prediction')}" if row else "missing"
        )
        digest.update(json.dumps([sample_id, outcome]).encode("utf-8"))
    return digest.hexdigest()


def task_section(scores: TaskScores, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The per-task part of results.json."""
    return {
        **extra,
        "n_samples": scores.n_samples,
        "n_scored": scores.n_scored,
        "n_errors": scores.n_errors,
        "n_missing": scores.n_missing,
        "errors_by_kind": scores.errors_by_kind,
        "output_flags": scores.output_flags,
        "metrics": {name: result.to_dict() for name, result in scores.metrics.items()},
    }


def sample_rows(
    samples: Sequence[Sample], rows: Mapping[str, Mapping[str, Any]], scores: TaskScores
) -> Iterable[dict[str, Any]]:
    """One samples.jsonl row per selected sample, in source order."""
    for sample in samples:
        row = rows.get(sample.id)
        yield {
            "task": sample.task,
            "id": sample.id,
            "prompt": row.get("prompt") if row else None,
            "question": sample.question,
            "choices": list(sample.choices),
            "references": list(sample.references),
            "prediction": row.get("prediction") if row else None,
            "scores": scores.per_sample.get(sample.id, {}),
            "details": scores.details.get(sample.id, {}),
            "error": (row.get("error") if row else {"kind": "missing", "message": "no prediction stored"}),
            "modalities": row.get("modalities") if row else None,
            "cluster": sample.cluster,
            "meta": sample.meta,
        }


def write_run_files(run_dir: Path, results: Mapping[str, Any], samples: Iterable[dict[str, Any]]) -> None:
    """Write samples.jsonl first, then results.json, each atomically.

    results.json is written last so its presence means the run folder is complete; an older
    results.json is removed first, so a crash between the two writes leaves an unfinished folder
    rather than new samples beside old scores. Temporary files left by a killed writer go too.
    """
    run_dir = Path(run_dir)
    for name in (SAMPLES_FILE, RESULTS_FILE):
        for stale in run_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    (run_dir / RESULTS_FILE).unlink(missing_ok=True)
    atomic_write_jsonl(run_dir / SAMPLES_FILE, samples)
    atomic_write_json(run_dir / RESULTS_FILE, {"format_version": FORMAT_VERSION, **results})
