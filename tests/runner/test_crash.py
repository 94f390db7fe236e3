"""SIGKILL at chosen points of a run, then the same command again: the report must equal an
uninterrupted run's, with every sample exactly once.

Each killed run is a child process started through ``tests/runner/crash_driver.py``, which arms
one kill point by wrapping a harness function (production code has no test hooks) and then runs
the CLI. The rerun is the plain ``python -m savbench run`` command.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.runner.crash_driver import CHILD
from tests.toy_tasks import make_toy_tasks

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}


def command(toy: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "chance", "--tasks", "toy", "--include-path", str(toy),
            "--output-dir", str(out), "--run-name", "run", "--seed", "3", "--batch-size", "2",
            "--num-workers", "0", "--bootstrap", "200", "--no-progress", *extra]  # fmt: skip


def savbench(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "savbench", *args], cwd=REPO_ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def killed_at(point: str, nth: int, args: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", CHILD, point, str(nth), *args], cwd=REPO_ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, f"{point}#{nth} was not killed: {proc.stderr[-2000:]}"
    return proc


def samples(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def stored_keys(run_dir: Path) -> list[tuple[str, str, str]]:
    """Every line of every store file, parsed (a torn or garbage line fails here)."""
    keys = []
    for path in sorted((run_dir / "predictions").glob("rank-*.jsonl")):
        data = path.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{path} ends in a torn line"
        for line in data.splitlines():
            row = json.loads(line)
            keys.append((row["key"], row["task"], row["id"]))
    return keys


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 21 samples in 3 tasks, 3 of them bad media (error rows must survive crashes too)
    return make_toy_tasks(tmp_path_factory.mktemp("crash-toy"), n=6, bad_media=True)


@pytest.fixture(scope="module")
def reference(toy: Path) -> dict:
    out = toy / "reference"
    proc = savbench(command(toy, out))
    assert proc.returncode == 0, proc.stderr
    run_dir = out / "run"
    results = json.loads((run_dir / "results.json").read_text())
    return {"samples": samples(run_dir), "tasks": results["tasks"], "keys": sorted(stored_keys(run_dir))}


def assert_same_as_reference(run_dir: Path, reference: dict) -> dict:
    rows = samples(run_dir)
    counts = Counter((r["task"], r["id"]) for r in rows)
    assert len(counts) == 21 and set(counts.values()) == {1}, "lost or duplicated samples"
    assert rows == reference["samples"]  # same predictions, errors and per-sample scores, same order
    results = json.loads((run_dir / "results.json").read_text())
    assert results["tasks"] == reference["tasks"]  # same scores, CIs, counts and digests
    keys = stored_keys(run_dir)
    assert sorted(keys) == reference["keys"]  # the store holds each sample once, nothing else
    assert results["store"]["duplicate_rows_ignored"] == 0
    assert not list(run_dir.glob(".*.tmp")), "temporary files of a killed write were left behind"
    return results


# Each scenario: kills in sequence (point, nth call, extra arguments), then the plain command.
SCENARIOS = {
    "model-load": [("load", 1, [])],
    "after-3-batches": [("batch", 4, [])],
    "torn-store-write-twice": [("append-half", 3, []), ("append-half", 2, [])],
    "store-write-missing-only-its-newline": [("append-newline", 5, [])],
    "scoring": [("score", 2, [])],
    "samples-jsonl-half-written": [("write", 1, [])],
    "results-json-half-written": [("write", 2, [])],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_killed_run_resumes_to_the_uninterrupted_report(
    toy: Path, reference: dict, tmp_path: Path, scenario: str
) -> None:
    out = tmp_path / "out"
    run_dir = out / "run"
    for point, nth, extra in SCENARIOS[scenario]:
        killed_at(point, nth, command(toy, out, *extra))
        assert not (run_dir / "results.json").exists()  # never looks finished after a crash
    if scenario.startswith("torn"):
        tail = (run_dir / "predictions" / "rank-0.jsonl").read_bytes()
        assert not tail.endswith(b"\n")  # the crash really left a torn line for the rerun
    rerun = savbench(command(toy, out))
    assert rerun.returncode == 0, rerun.stderr
    results = assert_same_as_reference(run_dir, reference)
    torn = 1 if scenario.startswith(("torn", "store-write")) else 0
    assert results["store"]["torn_lines_dropped"] == torn


def test_kill_while_rewriting_an_older_report_never_pairs_old_scores_with_new_samples(
    toy: Path, reference: dict, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_dir = out / "run"
    assert savbench(command(toy, out, "--limit", "2")).returncode == 0
    old_results = json.loads((run_dir / "results.json").read_text())
    assert old_results["tasks"]["toy_asr"]["n_samples"] == 2
    # the full command, killed after samples.jsonl was replaced and while results.json is written
    killed_at("write", 2, command(toy, out))
    assert len(samples(run_dir)) == 21
    assert not (run_dir / "results.json").exists()  # not the 2-sample scores beside 21 samples
    assert savbench(command(toy, out)).returncode == 0
    assert_same_as_reference(run_dir, reference)


def test_kill_from_outside_at_a_random_moment_with_decoding_workers(
    toy: Path, reference: dict, tmp_path: Path
) -> None:
    rng = random.Random(20240611)
    out = tmp_path / "out"
    run_dir = out / "run"
    store = run_dir / "predictions" / "rank-0.jsonl"
    args = command(toy, out, "--num-workers", "1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, "slow", "0", *args], cwd=REPO_ROOT, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (store.exists() and store.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))  # the slowed model needs ~0.7 s for all batches
        workers = children_of(child.pid)
        child.kill()
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    if sys.platform.startswith("linux"):
        assert workers, "the run had no decoding worker when it was killed"
        deadline = time.monotonic() + 5
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.01)
        survivors = [pid for pid in workers if alive(pid)]
        for pid in survivors:  # do not leave them behind when the check fails
            os.kill(pid, signal.SIGKILL)
        assert not survivors, "a decoding worker outlived the killed run"
    assert not (run_dir / "results.json").exists(), "the run ended before the kill; shorten the delay"
    assert 0 < len(stored_keys(run_dir)) < 21
    # at once: the decoding worker of the killed run must neither hold the folder's lock nor live on
    rerun = savbench(args)
    assert rerun.returncode == 0, rerun.stderr
    assert_same_as_reference(run_dir, reference)
