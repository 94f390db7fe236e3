"""The bundled task catalogue, the published numbers, and preparation of the real SAVE files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench.cli import main
from savbench.data import read_manifest
from savbench.data.prepare import prepare_task
from savbench.leaderboard import read_published
from savbench.metrics import get_metric, metric_names
from savbench.tasks import TaskRegistry
from tests.conftest import SHARED_DATA

ANNOTATIONS = SHARED_DATA / "savebench_annotations"
SAVE_FILES = {
    "save_nextqa": "nextqa_test.json",
    "save_flickr30k": "flickr30k_captions.json",
    "save_textvqa": "textvqa.json",
    "save_gqa": "testdev_balanced_questions_with_images.json",
    "save_how2_avsr": "how2_test.json",
    "save_avssd": "testdata_formatted.json",
    "save_avm": "audiovisualmatching_combined.json",
    "save_ego4d_avqa": "ego4d_qa.json",
    "save_presentation_avqa": "presentation_qa.json",
    "save_avsd": "avsd_textformat_subset.json",
}


@pytest.fixture(scope="module")
def registry() -> TaskRegistry:
    return TaskRegistry()


def test_groups_hold_every_benchmark_task(registry: TaskRegistry) -> None:
    assert len(registry.expand("save")) == 12
    assert len(registry.expand("aveb")) == 11
    assert len(registry.expand("videollama2")) == 7
    for task in registry.expand("save,aveb,videollama2"):
        assert task.spec.reproduces is not None and task.spec.reproduces.arxiv, task.name


def test_published_numbers_name_real_tasks_and_metrics(registry: TaskRegistry) -> None:
    numbers = read_published()
    assert numbers, "results/published.csv is empty"
    known_metrics = set(metric_names())
    for number in numbers:
        assert number.task in registry.tasks, f"published.csv names unknown task {number.task}"
        assert number.metric in known_metrics, f"published.csv names unknown metric {number.metric}"
        assert number.direction == get_metric(number.metric).direction, (number.task, number.metric)
        assert number.source.strip()
    assert {n.benchmark for n in numbers} >= {"SAVE", "AVEB", "VideoLLaMA2"}


@pytest.mark.parametrize(("task", "filename"), sorted(SAVE_FILES.items()))
def test_prepare_on_released_annotations(
    registry: TaskRegistry, tmp_path: Path, task: str, filename: str
) -> None:
    annotation = ANNOTATIONS / filename
    if not annotation.exists():
        pytest.skip(f"shared data not present: {annotation}")
    items = json.loads(annotation.read_text())
    media = tmp_path / "media"
    media.mkdir()
    # Provide the media of the first item under a different folder layout: found by file name.
    first = items[0]
    paths = first.get("image") or first.get("image_name")
    paths = [paths] if isinstance(paths, str) else paths
    for relative in paths:
        target = media / "elsewhere" / Path(relative).name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(b"x")
    manifest = tmp_path / "manifest.jsonl"
    report = prepare_task(registry.tasks[task], ANNOTATIONS, media, manifest)
    provided = {Path(p).name for p in paths}

    def media_names(item: dict) -> set[str]:
        value = item.get("image") or item.get("image_name")
        return {Path(v).name for v in ([value] if isinstance(value, str) else value)}

    complete = sum(media_names(item) <= provided for item in items)
    assert report.n_samples == len(items)
    assert report.n_complete == complete >= 1
    assert len(report.missing) == sum(len(media_names(item) - provided) for item in items)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == len(items) and len({r["id"] for r in rows}) == len(items)
    assert rows[0].get("video", rows[0].get("image", "")).startswith("elsewhere/")
    # The manifest passes the runner's own validation against that media root.
    assert len(read_manifest(manifest, task=task, media_root=media)) == len(items)


def test_prepare_cli_reports_missing_media(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not (ANNOTATIONS / "how2_test.json").exists():
        pytest.skip("shared data not present")
    media = tmp_path / "media"
    media.mkdir()
    code = main(["data", "prepare", "save_how2_avsr", "--annotations", str(ANNOTATIONS), "--media-root", str(media),
                 "--output", str(tmp_path / "m.jsonl"), "--missing-list", str(tmp_path / "missing.jsonl")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "save_how2_avsr: 531 samples" in out and "0 of 531 samples have all their media" in out
    assert len((tmp_path / "missing.jsonl").read_text().splitlines()) == 531 * 2


def test_prepare_rejects_a_malformed_annotation(registry: TaskRegistry, tmp_path: Path) -> None:
    bad = tmp_path / "nextqa_test.json"
    bad.write_text(
        json.dumps([{"image": "v.mp4", "question": "q", "answer": "x", "answer_candidates": ["a", "b"]}])
    )
    (tmp_path / "media").mkdir()
    from savbench._errors import SpecError

    with pytest.raises(SpecError, match=r"item 0.answer: 'x' is not one of the answer_candidates"):
        prepare_task(registry.tasks["save_nextqa"], bad, tmp_path / "media", tmp_path / "m.jsonl")
