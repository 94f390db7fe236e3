"""`--ablate audio` with the deterministic tiny video-SALMONN on `mini`: tasks that take no audio
keep (and reuse) the unablated predictions, audio tasks are recomputed on silence of the same
length, and the reliance table holds both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from savbench.compare import reliance_table
from savbench.report import load_run
from savbench.runner import RunConfig, run
from tests.compare.recording import recording

LIMIT = 4


def predictions(run_dir: Path) -> dict[tuple[str, str], str | None]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r["prediction"] for r in rows}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ablate")
    common = dict(model="video-salmonn-tiny", tasks=["mini"], limit=LIMIT, output_dir=out, num_workers=0,
                  progress=False, bootstrap_samples=100)  # fmt: skip
    with recording() as seen:
        full = run(RunConfig(**common))
        ablated = run(RunConfig(**common, ablate=("audio",)))
    return full, ablated, (seen[0].requests, seen[0].calls), (seen[1].requests, seen[1].calls)


def audio_tasks(outcome) -> set[str]:
    return {t for t, s in outcome.results["tasks"].items() if s["ablated"] == ["audio"]}


def test_non_audio_tasks_reuse_and_audio_tasks_recompute(runs) -> None:
    full, ablated, _, _ = runs
    sections = ablated.results["tasks"]
    with_audio = audio_tasks(ablated)
    other_tasks = set(sections) - with_audio
    assert with_audio and other_tasks  # mini has both kinds
    assert with_audio == {
        t for t, s in sections.items() if {"speech", "audio"} & set(s["modalities_consumed"])
    }
    assert ablated.results["config"]["ablate"] == ["audio"]
    assert ablated.run_dir != full.run_dir  # the ablation is part of the run's identity
    assert ablated.results["timing"]["reused_predictions"] == LIMIT * len(other_tasks)
    before, after = predictions(full.run_dir), predictions(ablated.run_dir)
    assert set(before) == set(after)
    for task in other_tasks:
        assert {k: v for k, v in after.items() if k[0] == task} == {
            k: v for k, v in before.items() if k[0] == task
        }
        assert sections[task]["predictions_sha256"] == full.results["tasks"][task]["predictions_sha256"]
    changed = [
        t
        for t in with_audio
        if sections[t]["predictions_sha256"] != full.results["tasks"][t]["predictions_sha256"]
    ]
    assert changed, "silence changed no audio task's prediction"


def test_silence_of_the_same_length_reaches_the_model_only_for_audio_tasks(runs) -> None:
    full, ablated, (seen_full, calls_full), (seen_ablated, calls_ablated) = runs
    with_audio = audio_tasks(ablated)
    assert {task for task, _ in seen_full} == set(full.results["tasks"])
    # The model saw every sample of the audio tasks again and nothing else.
    assert set(seen_ablated) == {key for key in seen_full if key[0] in with_audio}
    assert len(seen_ablated) == LIMIT * len(with_audio)
    assert ablated.results["adapter_calls"]["calls"] == calls_ablated > 0
    assert full.results["adapter_calls"]["calls"] == calls_full > calls_ablated
    for key, seen in seen_ablated.items():
        original = seen_full[key]
        assert original.audio is not None and np.abs(original.audio).max() > 0.01, key
        assert seen.audio is not None and seen.audio.shape == original.audio.shape, key
        assert seen.audio.dtype == original.audio.dtype and not seen.audio.any(), key
        for stream in ("frames", "timestamps", "image"):  # the other streams are untouched
            a, b = getattr(original, stream), getattr(seen, stream)
            assert (a is None and b is None) or np.array_equal(a, b), (key, stream)


def test_reliance_table_shows_both_kinds_of_task(runs) -> None:
    full, ablated, _, _ = runs
    cells = {
        c.task: c for c in reliance_table([load_run(full.run_dir), load_run(ablated.run_dir)], resamples=100)
    }
    assert set(cells) == set(full.results["tasks"])
    for task, cell in cells.items():
        primary = cell.metric
        assert cell.stream == "audio" and cell.n == LIMIT
        assert cell.full == pytest.approx(full.results["tasks"][task]["metrics"][primary]["score"])
        assert cell.ablated == pytest.approx(ablated.results["tasks"][task]["metrics"][primary]["score"])
        sign = 1 if cell.direction == "higher" else -1
        assert cell.drop == pytest.approx(sign * (cell.full - cell.ablated))
        assert cell.ci is not None and cell.ci[0] <= cell.ci[1]
        if task not in audio_tasks(ablated):
            assert cell.drop == 0.0 and cell.ci == (0.0, 0.0) and cell.p_value == 1.0
