"""`--ablate audio` with the deterministic tiny video-SALMONN on `mini`: tasks that take no audio
keep (and reuse) the unablated predictions, audio tasks are recomputed on silence, and the
reliance table holds both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench.compare import reliance_table
from savbench.report import load_run
from savbench.runner import RunConfig, run

LIMIT = 4


def predictions(run_dir: Path) -> dict[tuple[str, str], str | None]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r["prediction"] for r in rows}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ablate")
    common = dict(model="video-salmonn-tiny", tasks=["mini"], limit=LIMIT, output_dir=out, num_workers=0,
                  progress=False, bootstrap_samples=100)  # fmt: skip
    full = run(RunConfig(**common))
    ablated = run(RunConfig(**common, ablate=("audio",)))
    return full, ablated


def test_non_audio_tasks_reuse_and_audio_tasks_recompute(runs) -> None:
    full, ablated = runs
    sections = ablated.results["tasks"]
    audio_tasks = {t for t, s in sections.items() if s["ablated"] == ["audio"]}
    other_tasks = set(sections) - audio_tasks
    assert audio_tasks and other_tasks  # mini has both kinds
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
        for t in audio_tasks
        if sections[t]["predictions_sha256"] != full.results["tasks"][t]["predictions_sha256"]
    ]
    assert changed, "silence reached no audio task's model input"


def test_reliance_table_shows_both_kinds_of_task(runs) -> None:
    full, ablated = runs
    cells = {
        c.task: c for c in reliance_table([load_run(full.run_dir), load_run(ablated.run_dir)], resamples=100)
    }
    assert set(cells) == set(full.results["tasks"])
    for task, cell in cells.items():
        assert cell.stream == "audio" and cell.n == LIMIT
        if ablated.results["tasks"][task]["ablated"]:
            assert cell.full is not None and cell.ablated is not None
        else:
            assert cell.drop == 0.0 and cell.full == cell.ablated
