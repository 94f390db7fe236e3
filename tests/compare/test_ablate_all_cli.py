"""`savbench run --ablate all` as a user runs it: one run per stream in turn, blank video filled
as `--video-fill` says, a mean-colour image, a reliance table per task and stream on the terminal
and in the HTML report, and no ablation ever served another's predictions."""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from savbench.cli import main
from savbench.compare import reliance_table
from savbench.report import load_run
from tests.compare.recording import RunSeen, recording

TASKS = ["mini_videoqa", "mini_isqa", "mini_avqa"]  # video; image + speech; video + speech
STREAMS = ["audio", "image", "video"]
LIMIT = 3


def argv(out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "video-salmonn-tiny", "--tasks", ",".join(TASKS), "--limit", str(LIMIT),
            "--output-dir", str(out), "--no-progress", "--num-workers", "0", "--bootstrap", "100",
            "--gen-kwargs", "max_new_tokens=8", *extra]  # fmt: skip


def run_dirs(out: Path) -> dict[tuple[tuple[str, ...], str | None], Path]:
    """Run folders by (ablated streams, video fill when a visual stream is ablated)."""
    found = {}
    for folder in out.iterdir():
        if (folder / "results.json").is_file():
            config = json.loads((folder / "results.json").read_text())["config"]
            ablate = tuple(config["ablate"])
            fill = config["video_fill"] if {"video", "image"} & set(ablate) else None
            found[(ablate, fill)] = folder
    return found


def predictions(folder: Path) -> dict[tuple[str, str], str | None]:
    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r["prediction"] for r in rows}


@pytest.fixture(scope="module")
def ablate_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[RunSeen]]:
    out = tmp_path_factory.mktemp("ablate_all")
    buffer = io.StringIO()
    with recording() as seen, contextlib.redirect_stdout(buffer):  # module scope: no capsys
        assert main(argv(out, "--ablate", "all", "--video-fill", "first")) == 0
    return out, buffer.getvalue(), seen


def test_each_stream_is_ablated_in_turn_after_the_full_run(ablate_all) -> None:
    out, stdout, seen = ablate_all
    assert [line for line in stdout.splitlines() if line.startswith("=== --ablate")] == [
        "=== --ablate none",
        *(f"=== --ablate {s}" for s in STREAMS),
    ]
    folders = run_dirs(out)
    assert set(folders) == {((), None), (("audio",), None), (("image",), "first"), (("video",), "first")}
    assert len(seen) == 4
    full = seen[0].requests
    assert set(full) == {(t, i) for t, i in full if t in TASKS} and len(full) == LIMIT * len(TASKS)
    # each ablated run asks the model again only about the tasks that use the removed stream
    uses = {
        "audio": {"mini_isqa", "mini_avqa"},
        "image": {"mini_isqa"},
        "video": {"mini_videoqa", "mini_avqa"},
    }
    for stream, run_seen in zip(STREAMS, seen[1:], strict=True):
        assert {task for task, _ in run_seen.requests} == uses[stream], stream


def test_blank_video_repeats_the_first_frame_and_a_blank_image_is_its_mean_colour(ablate_all) -> None:
    _, _, seen = ablate_all
    full, image_run, video_run = seen[0].requests, seen[2].requests, seen[3].requests
    for key, after in video_run.items():
        before = full[key]
        assert before.frames is not None and after.frames is not None
        assert len(np.unique(before.frames.reshape(len(before.frames), -1), axis=0)) > 1, "clip is not static"
        assert after.frames.shape == before.frames.shape
        assert (after.frames == before.frames[0]).all(), key
        assert np.array_equal(after.timestamps, before.timestamps)
        assert np.array_equal(after.audio, before.audio) if before.audio is not None else after.audio is None
    for key, after in image_run.items():
        before = full[key]
        assert (
            before.image is not None and after.image is not None and after.image.shape == before.image.shape
        )
        mean = before.image.reshape(-1, 3).astype(np.float64).mean(axis=0)
        assert np.abs(after.image.astype(np.float64) - mean).max() <= 0.5 + 1e-9, key  # mean, rounded
        assert len(np.unique(after.image.reshape(-1, 3), axis=0)) == 1
        assert np.array_equal(after.audio, before.audio)


def test_mean_fill_is_its_own_run_and_fills_with_the_clip_mean(ablate_all) -> None:
    out, _, seen_all = ablate_all
    with recording() as seen:
        assert main(argv(out, "--ablate", "video", "--video-fill", "mean")) == 0
    folders = run_dirs(out)
    mean_dir, first_dir = folders[(("video",), "mean")], folders[(("video",), "first")]
    assert mean_dir != first_dir  # the fill is part of the run's identity: nothing is served across
    assert {task for task, _ in seen[0].requests} == {"mini_videoqa", "mini_avqa"}
    full = seen_all[0].requests
    for key, after in seen[0].requests.items():
        before = full[key]
        mean = before.frames.reshape(-1, 3).astype(np.float64).mean(axis=0)
        assert after.frames.shape == before.frames.shape
        assert np.abs(after.frames.astype(np.float64) - mean).max() <= 0.5 + 1e-9, key
        assert np.array_equal(after.timestamps, before.timestamps)


def test_rerunning_an_ablation_serves_its_own_predictions_only(ablate_all) -> None:
    out, _, _ = ablate_all
    folders = run_dirs(out)
    audio_dir = folders[(("audio",), None)]
    earlier = predictions(audio_dir)
    with recording() as seen:
        assert main(argv(out, "--ablate", "audio")) == 0
    assert seen[0].calls == 0  # resumed from its own store
    assert run_dirs(out)[(("audio",), None)] == audio_dir and predictions(audio_dir) == earlier
    assert json.loads((audio_dir / "results.json").read_text())["adapter_calls"]["calls"] == 0


def test_reliance_table_per_task_and_stream_on_the_terminal_and_in_the_html_report(
    ablate_all, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, stdout, _ = ablate_all
    folders = run_dirs(out)
    order = [((), None), (("audio",), None), (("image",), "first"), (("video",), "first")]
    runs = [load_run(folders[k]) for k in order]
    cells = reliance_table(runs, resamples=200)
    assert {(c.task, c.stream) for c in cells} == {(t, s) for t in TASKS for s in STREAMS}
    consumed = {t: set(runs[0].tasks[t]["modalities_consumed"]) for t in TASKS}
    stream_of = {"speech": "audio", "audio": "audio", "video": "video", "image": "image"}
    for cell in cells:
        assert cell.n == LIMIT and cell.full is not None and cell.ablated is not None and cell.ci is not None
        assert cell.drop == pytest.approx(cell.full - cell.ablated)  # accuracy: higher is better
        if cell.stream not in {stream_of[m] for m in consumed[cell.task]}:
            assert cell.drop == 0.0 and cell.ci == (0.0, 0.0), (cell.task, cell.stream)

    table = stdout[stdout.index("modality reliance") :].splitlines()
    for task in TASKS:
        removed = sorted(line.split()[2] for line in table if line.startswith(task + " "))
        assert removed == STREAMS, task

    page = tmp_path / "report.html"
    capsys.readouterr()
    assert main(["report", *(str(folders[k]) for k in order), "-o", str(page), "--no-published"]) == 0
    text = page.read_text()
    section = text[text.index("<h2>Modality reliance</h2>") :]
    section = section[: section.index("<h2>", 5)] if "<h2>" in section[5:] else section
    cells_text = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", section, flags=re.S)]
    for task in TASKS:
        assert cells_text.count(task) == len(STREAMS), task
    for stream in STREAMS:
        assert stream in cells_text
