"""Resources: out-of-memory batches, a full disk, and two processes on one output folder."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from model_adapters.baselines import OracleAdapter
from savbench._errors import RunError
from savbench.adapters import Request, register_adapter
from savbench.runner import RunConfig, run
from savbench.store import PredictionStore, ReadReport, read_predictions
from tests.conftest import REPO_ROOT
from tests.runner.crash_driver import CHILD, MARKER_ENV
from tests.toy_tasks import make_toy_tasks

OOM = "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.15 GiB total capacity)"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}


@register_adapter("test-oom-prone")
class OutOfMemoryProne(OracleAdapter):
    """The oracle on a device too small for any batch above one, and for sample yn3 at all."""

    batch_sizes: ClassVar[list[int]] = []

    def generate(self, requests: list[Request]) -> list[str]:
        type(self).batch_sizes.append(len(requests))
        if len(requests) > 1 or any(r.sample.id == "yn3" for r in requests):
            raise RuntimeError(OOM)
        return super().generate(requests)


@register_adapter("test-never-built")
class NeverBuilt(OracleAdapter):
    def __init__(self) -> None:
        raise AssertionError("the model was built although the run could not be written")


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_tasks(tmp_path_factory.mktemp("resources-toy"), n=6)


def config(root: Path, out: Path, model: str = "oracle", **kwargs: Any) -> RunConfig:
    defaults = dict(tasks=["toy"], include_paths=[str(root)], output_dir=out, run_name="run", num_workers=0,
                    progress=False, bootstrap_samples=100)  # fmt: skip
    return RunConfig(model=model, **{**defaults, **kwargs})


def samples_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_out_of_memory_splits_batches_then_records_the_one_sample_that_never_fits(
    toy: Path, tmp_path: Path
) -> None:
    OutOfMemoryProne.batch_sizes.clear()
    outcome = run(config(toy, tmp_path, "test-oom-prone", batch_size=4))
    sizes = OutOfMemoryProne.batch_sizes
    assert sizes[0] == 4 and 2 in sizes and sizes.count(1) >= 18  # 4 -> 2 -> 1, every sample alone
    errors = [row for row in samples_of(outcome.run_dir) if row["error"]]
    assert [(r["task"], r["id"], r["error"]["kind"]) for r in errors] == [("toy_yn", "yn3", "out_of_memory")]
    assert "CUDA out of memory" in errors[0]["error"]["message"]
    tasks = outcome.results["tasks"]
    assert tasks["toy_yn"]["errors_by_kind"] == {"out_of_memory": 1} and tasks["toy_yn"]["n_scored"] == 5
    for task in ("toy_asr", "toy_mc"):  # the run went on: everything else scored, at the oracle's best
        assert tasks[task]["n_errors"] == 0 and tasks[task]["n_scored"] == 6
    assert tasks["toy_asr"]["metrics"]["wer"]["score"] == 0.0
    assert tasks["toy_yn"]["metrics"]["accuracy"]["score"] == 100.0
    assert outcome.results["adapter_calls"]["oom_retries"] > 0


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def test_low_free_space_fails_before_the_model_is_built_and_leaves_the_folder_alone(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(config(toy, tmp_path, limit=2))
    before = snapshot(tmp_path / "run")
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=5 * 1024 * 1024))
    with pytest.raises(RunError, match=r"only 5 MiB free under .*run; savbench needs at least 64 MiB"):
        run(config(toy, tmp_path, "test-never-built"))
    assert snapshot(tmp_path / "run") == before


def test_disk_full_mid_run_is_a_clear_error_keeps_written_rows_and_the_rerun_resumes(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = run(config(toy, tmp_path / "ref", model="chance", seed=5, batch_size=2)).results
    original = PredictionStore.append
    calls = 0

    def append_until_full(store: PredictionStore, rows: list[dict]) -> None:
        nonlocal calls
        calls += 1
        if calls < 4:
            return original(store, rows)
        from savbench._io import json_line

        payload = b"".join(json_line(r) for r in rows)
        store._handle.write(payload[: len(payload) // 3])  # what the file system took before it filled
        store._handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(PredictionStore, "append", append_until_full)
    out = tmp_path / "out"
    with pytest.raises(RunError) as info:
        run(config(toy, out, model="chance", seed=5, batch_size=2))
    message = str(info.value)
    assert "rank-0.jsonl" in message and "No space left on device" in message
    assert "rerun the same command to resume" in message
    found = ReadReport()
    kept = read_predictions(out / "run", found)
    assert len(kept) == 6 and found.torn_lines == 1  # three whole batches; the cut one is not garbage
    assert not (out / "run" / "results.json").exists()

    monkeypatch.setattr(PredictionStore, "append", original)  # space freed
    again = run(config(toy, out, model="chance", seed=5, batch_size=2)).results
    assert again["timing"]["samples_processed"] == 18 - 6
    assert again["store"] == {"torn_lines_dropped": 1, "duplicate_rows_ignored": 0}
    assert again["tasks"] == reference["tasks"]  # same scores as a run that never hit a full disk
    ids = [(r["task"], r["id"]) for r in samples_of(out / "run")]
    assert len(ids) == len(set(ids)) == 18


def test_disk_full_while_writing_the_report(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import savbench._io as io

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(io, "atomic_write_bytes", full)
    with pytest.raises(
        RunError, match=r"cannot write the report into .*run: No space left on device\. Every "
    ):
        run(config(toy, tmp_path))
    monkeypatch.undo()
    assert len(read_predictions(tmp_path / "run")) == 18  # every prediction kept
    again = run(config(toy, tmp_path)).results
    assert again["timing"]["samples_processed"] == 0 and (tmp_path / "run" / "results.json").exists()


# --- two processes on one output folder -------------------------------------------------------


def cli_args(toy: Path, out: Path, seed: int = 3) -> list[str]:
    return ["run", "--model", "chance", "--tasks", "toy", "--include-path", str(toy), "--output-dir", str(out),
            "--run-name", "shared", "--seed", str(seed), "--num-workers", "0", "--bootstrap", "100",
            "--no-progress"]  # fmt: skip


def start_driver(point: str, nth: int, args: list[str], gate: Path) -> subprocess.Popen:
    env = {**ENV, MARKER_ENV: str(gate)}
    return subprocess.Popen([sys.executable, "-c", CHILD, point, str(nth), *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def savbench(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "savbench", *args], cwd=REPO_ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def wait_for(condition: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def reference_report(toy: Path) -> dict:
    proc = savbench(cli_args(toy, toy / "reference"))
    assert proc.returncode == 0, proc.stderr
    return json.loads((toy / "reference" / "shared" / "results.json").read_text())


@pytest.mark.parametrize("moment", ["generating", "scoring"])
def test_second_process_on_the_same_folder_is_refused_and_the_first_run_stays_intact(
    toy: Path, tmp_path: Path, reference_report: dict, moment: str
) -> None:
    out = tmp_path / "out"
    run_dir = out / "shared"
    gate = tmp_path / "gate"
    # the first run holds at its second batch (rows stored), or at scoring (every row stored)
    point, nth = ("gate-batch", 2) if moment == "generating" else ("gate-score", 1)
    first = start_driver(point, nth, cli_args(toy, out), gate)
    try:
        wait_for(gate.exists, f"the first run to reach {moment}")
        # another seed: had it got in, its rows and report would mix with the first run's
        second = savbench(cli_args(toy, out, seed=4))
    finally:
        gate.unlink(missing_ok=True)
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode == 2
    assert f"{run_dir} is in use by pid {first.pid} on" in second.stderr
    assert "another --output-dir or --run-name" in second.stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert results["tasks"] == reference_report["tasks"]
    keys = {row["key"] for row in read_predictions(run_dir).values()}
    assert len(keys) == 3  # one prediction key per task: the first run's only
    lines = (run_dir / "predictions" / "rank-0.jsonl").read_text().splitlines()
    assert len(lines) == 18 and all(json.loads(line) for line in lines)


FORKS_AND_DIES = textwrap.dedent(
    """
    import os, sys, time
    from savbench.store import PredictionStore
    store = PredictionStore(sys.argv[1]).open()
    child = os.fork()
    if child == 0:  # like a decoding worker: forked while the store is open, outlives the run
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
    """
)


def test_lock_is_not_inherited_by_forked_processes(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", FORKS_AND_DIES, str(tmp_path)], cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = int(proc.stdout.readline())
    try:
        with pytest.raises(RunError, match=f"in use by pid {proc.pid}"):
            PredictionStore(tmp_path).open()  # held while its owner lives
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        PredictionStore(tmp_path).open().close()  # the forked child, still alive, does not hold it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.kill(child, signal.SIGKILL)


def test_report_files_are_made_like_any_new_file(toy: Path, tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        run_dir = run(config(toy, tmp_path, limit=1)).run_dir
    finally:
        os.umask(mask)
    for name in ("results.json", "samples.jsonl"):  # not the 0600 of a temporary file
        assert (run_dir / name).stat().st_mode & 0o777 == 0o640, name
    from savbench._io import atomic_write_text

    private = tmp_path / "leaderboard.csv"
    private.write_text("old")
    private.chmod(0o600)
    atomic_write_text(private, "new")
    assert private.read_text() == "new" and private.stat().st_mode & 0o777 == 0o600  # replaced, mode kept
