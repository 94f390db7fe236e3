"""Data parallel runs on the CPU: ``torchrun -m savbench run`` with 2 gloo ranks shards the samples,
each rank writes its own store file, and rank 0's report equals a single-process run; a run
started with one number of ranks resumes with another and still gives the same report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from savbench.runner import RunConfig, World, owns, run
from tests.conftest import REPO_ROOT

TASKS = "mini_asr,mini_avqa"
LIMIT = 6


def torchrun(nproc: int, output: Path, name: str, limit: int) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
               "-m", "savbench", "run", "--model", "video-salmonn-tiny", "--tasks", TASKS, "--limit", str(limit),
               "--output-dir", str(output), "--run-name", name, "--batch-size", "4", "--num-workers", "0",
               "--bootstrap", "100", "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]


def single(output: Path, name: str, limit: int) -> dict[str, Any]:
    config = RunConfig(model="video-salmonn-tiny", tasks=TASKS.split(","), limit=limit, output_dir=output,
                       run_name=name, batch_size=4, num_workers=0, bootstrap_samples=100, progress=False)  # fmt: skip
    return run(config).results


def report(run_dir: Path) -> dict[str, Any]:
    """What must not depend on the number of ranks: per-sample predictions and every score."""
    results = json.loads((run_dir / "results.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return {
        "predictions": {(r["task"], r["id"]): r["prediction"] for r in rows},
        "errors": [r for r in rows if r.get("error")],
        "metrics": {task: section["metrics"] for task, section in results["tasks"].items()},
        "digests": {task: section["predictions_sha256"] for task, section in results["tasks"].items()},
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("single")
    single(output, "ref", LIMIT)
    expected = report(output / "ref")
    assert len(expected["predictions"]) == 2 * LIMIT and not expected["errors"]
    assert len(set(expected["predictions"].values())) > 3  # real, varied model outputs
    return expected


def rank_rows(run_dir: Path) -> dict[int, set[tuple[str, str]]]:
    files = sorted((run_dir / "predictions").glob("rank-*.jsonl"))
    return {
        int(f.stem.split("-")[1]): {(r["task"], r["id"]) for r in map(json.loads, f.read_text().splitlines())}
        for f in files
    }


def test_two_ranks_give_the_single_process_report(tmp_path: Path, reference: dict[str, Any]) -> None:
    torchrun(2, tmp_path, "dp", LIMIT)
    run_dir = tmp_path / "dp"
    assert report(run_dir) == reference
    rows = rank_rows(run_dir)
    assert set(rows) == {0, 1} and rows[0] and rows[1] and not rows[0] & rows[1]
    for rank, keys in rows.items():  # each rank stored exactly the samples it owns
        assert all(owns(World(rank=rank, size=2), task, sid) for task, sid in keys)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["config"]["world_size"] == 2 and results["timing"]["samples_processed"] == 2 * LIMIT
    assert results["store"]["duplicate_rows_ignored"] == 0


def test_two_rank_run_resumed_by_one_process(tmp_path: Path, reference: dict[str, Any]) -> None:
    torchrun(2, tmp_path, "resume", 3)
    resumed = single(tmp_path, "resume", LIMIT)
    assert resumed["timing"]["samples_processed"] == 2 * (LIMIT - 3)
    assert report(tmp_path / "resume") == reference


def test_one_process_run_resumed_by_two_ranks(tmp_path: Path, reference: dict[str, Any]) -> None:
    first = single(tmp_path, "resume", 3)
    assert first["timing"]["samples_processed"] == 6
    torchrun(2, tmp_path, "resume", LIMIT)
    run_dir = tmp_path / "resume"
    assert report(run_dir) == reference
    results = json.loads((run_dir / "results.json").read_text())
    assert results["timing"]["samples_processed"] == 2 * (LIMIT - 3)
