"""The bundled ``mini`` benchmark: specs, manifests, media and ground truth agree.

The answers are re-derived here from each sample's generating parameters (``meta``), and the
media are decoded to check that what was encoded matches those parameters (pixel colours at
object centres, sound onsets at bounce and pulse times).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile as sf
import yaml
from PIL import Image

from savbench.data import read_manifest
from savbench.tasks import TaskRegistry
from savbench.tasks._registry import load_task_file
from savbench.tasks._spec import TaskSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
MINI = REPO_ROOT / "tasks" / "mini"
GROUP_FILE = REPO_ROOT / "tasks" / "groups" / "mini.yaml"
GENERATOR = REPO_ROOT / "scripts" / "build_mini_benchmark.py"
TASKS = {
    "mini_asr": "asr.jsonl",
    "mini_audiocaps": "audiocaps.jsonl",
    "mini_videoqa": "videoqa.jsonl",
    "mini_avqa": "avqa.jsonl",
    "mini_avsr": "avsr.jsonl",
    "mini_avm": "avm.jsonl",
    "mini_avssd": "avssd.jsonl",
    "mini_isqa": "isqa.jsonl",
}
MC_TASKS = ("mini_videoqa", "mini_avqa", "mini_avssd", "mini_isqa")
SIZE_LIMIT = 15 * 1024 * 1024
MEDIA_SUFFIXES = {".flac", ".mp4", ".png", ".jpg"}


@cache
def spec(task: str) -> TaskSpec:
    return TaskSpec.model_validate(yaml.safe_load((MINI / f"{task}.yaml").read_text(encoding="utf-8")))


@cache
def rows(task: str) -> tuple[dict[str, Any], ...]:
    text = (MINI / TASKS[task]).read_text(encoding="utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


@cache
def build_info() -> dict[str, Any]:
    return json.loads((MINI / "BUILD_INFO.json").read_text(encoding="utf-8"))


def media(relative: str) -> Path:
    return MINI / "media" / relative


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decode_audio(path: Path, stream_index: int = 0) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[stream_index]
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def onsets(signal: np.ndarray, rate: int, threshold: float = 0.2) -> list[float]:
    """Times (s) where a 5 ms RMS envelope first rises above ``threshold`` of its peak."""
    hop = rate // 200
    frames = signal[: len(signal) // hop * hop].reshape(-1, hop)
    env = np.sqrt((frames**2).mean(axis=1))
    above = env > threshold * env.max()
    starts = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    return [float(s * hop / rate) for s in starts]


# ---------------------------------------------------------------------------------------------
# specs and group


@pytest.mark.parametrize("task", TASKS)
def test_task_yaml_validates_and_loads(task: str) -> None:
    loaded = load_task_file(MINI / f"{task}.yaml")
    assert loaded.spec == spec(task)
    assert spec(task).task == task
    assert spec(task).groups == ("mini",)
    assert spec(task).source.path == TASKS[task]


def test_group_lists_every_task_once(tmp_path: Path) -> None:
    group = yaml.safe_load(GROUP_FILE.read_text(encoding="utf-8"))
    assert group["group"] == "mini"
    assert group["tasks"] == list(TASKS)
    # only the mini tasks and this group: other task folders are not this test's subject
    shutil.copy(GROUP_FILE, tmp_path / GROUP_FILE.name)
    registry = TaskRegistry([MINI, tmp_path])
    assert [t.name for t in registry.expand("mini")] == list(TASKS)


def test_both_audio_paths_are_exercised() -> None:
    av_tasks = [t for t in TASKS if "video" in spec(t).modalities and spec(t).needs_audio]
    from_video = [t for t in av_tasks if spec(t).audio_from_video]
    separate = [t for t in av_tasks if not spec(t).audio_from_video]
    assert from_video and separate
    for task in separate:
        assert all("audio" in row for row in rows(task))
    for task in from_video:
        assert not any("audio" in row for row in rows(task))


# ---------------------------------------------------------------------------------------------
# manifests


@pytest.mark.parametrize("task", TASKS)
def test_manifest_reads_and_media_exist(task: str) -> None:
    samples = read_manifest(MINI / TASKS[task], task=task, media_root=MINI / "media")
    assert 24 <= len(samples) <= 40
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples:
        assert sample.references and all(r.strip() for r in sample.references)
        for ref in (sample.audio, sample.video, sample.image):
            if ref is not None:
                assert Path(ref.path).is_file(), ref.path
        streams = set(spec(task).modalities)
        if "video" in streams:
            assert sample.video is not None
        if "image" in streams:
            assert sample.image is not None
        if streams & {"speech", "audio"}:
            assert sample.audio is not None or (spec(task).audio_from_video and sample.video is not None)


@pytest.mark.parametrize("task", MC_TASKS)
def test_multiple_choice_answers_are_balanced(task: str) -> None:
    assert spec(task).answer == "multiple_choice"
    positions = Counter()
    for row in rows(task):
        assert len(row["choices"]) == 4 and len(set(row["choices"])) == 4
        assert row["references"][0] in row["choices"]
        positions[row["choices"].index(row["references"][0])] += 1
    assert set(positions.values()) == {len(rows(task)) // 4}, positions


def test_matching_is_balanced_within_every_scene() -> None:
    assert spec("mini_avm").answer == "yes_no"
    answers = Counter(row["references"][0] for row in rows("mini_avm"))
    assert answers == {"yes": 16, "no": 16}
    by_scene: dict[str, list[str]] = {}
    for row in rows("mini_avm"):
        by_scene.setdefault(row["cluster"], []).append(row["references"][0])
    assert all(sorted(v) == ["no", "yes"] for v in by_scene.values())


def test_transcripts_and_captions() -> None:
    for task in ("mini_asr", "mini_avsr"):
        texts = [row["references"][0] for row in rows(task)]
        assert len(set(texts)) == len(texts)
        assert all(row["references"] == [row["meta"]["text"]] for row in rows(task))
    for row in rows("mini_audiocaps"):
        assert 3 <= len(row["references"]) <= 5
        assert len(set(row["references"])) == len(row["references"])


# ---------------------------------------------------------------------------------------------
# ground truth re-derived from the generating parameters


def direction_of(obj: dict[str, Any]) -> str:
    vx, vy = obj["velocity_px_s"]
    if abs(vx) > abs(vy):
        return "right" if vx > 0 else "left"
    return "down" if vy > 0 else "up"


def expected_answer(row: dict[str, Any]) -> str:
    meta, objs = row["meta"], row["meta"].get("objects", [])
    kind = meta.get("kind")
    named_colour, named_shape = meta.get("colour"), meta.get("shape")
    if "spoken_question" in meta:  # image spoken QA names its target in the spoken question
        words = meta["spoken_question"].lower().rstrip("?").split()
        assert (named_colour is None or named_colour in words) and (
            named_shape is None or named_shape in words
        )
    if "speech" in meta:
        words = meta["speech"]["text"].lower().rstrip(".?").split()
        assert (named_colour is None or named_colour in words) and (
            named_shape is None or named_shape in words
        )
    if kind == "count":
        if named_colour is None:  # video QA names the colour in the question
            named_colour = re.search(r"How many (\w+) shapes", row["question"]).group(1)
        return str(sum(o["colour"] == named_colour for o in objs))
    if kind == "direction":
        if named_shape is None:
            label = re.search(r"does the (\w+ \w+) move", row["question"]).group(1)
            (obj,) = [o for o in objs if f"{o['colour']} {o['shape']}" == label]
        else:
            (obj,) = [o for o in objs if o["shape"] == named_shape]
        return direction_of(obj)
    if kind == "moving_colour":
        (obj,) = [o for o in objs if "velocity_px_s" in o]
        return obj["colour"]
    if kind == "last_shape":
        return max(objs, key=lambda o: o.get("appears_at", 0.0))["shape"]
    if kind == "colour_of_shape":
        (obj,) = [o for o in objs if o["shape"] == named_shape]
        return obj["colour"]
    if kind == "shape_of_colour":
        (obj,) = [o for o in objs if o["colour"] == named_colour]
        return obj["shape"]
    if kind == "colour_of_largest":
        return max(objs, key=lambda o: o["size"])["colour"]
    if "sound_onsets_s" in meta:  # sound-source detection
        (obj,) = [o for o in objs if [p[0] for p in o["pulses"]] == meta["sound_onsets_s"]]
        return f"the {obj['colour']} {obj['shape']}"
    raise AssertionError(f"{row['id']}: no rule for {kind!r}")


@pytest.mark.parametrize("task", MC_TASKS)
def test_answer_follows_from_the_generating_parameters(task: str) -> None:
    for row in rows(task):
        assert expected_answer(row) == row["references"][0], row["id"]


def test_av_questions_need_the_speech() -> None:
    """Every option is a plausible answer for some object in the video: without the spoken
    colour or shape the video does not settle the question."""
    for row in rows("mini_avqa"):
        objs, kind = row["meta"]["objects"], row["meta"]["kind"]
        if kind == "count":
            counts = sorted(row["meta"]["counts"].values())
            assert len(set(counts)) == 3
        elif kind == "direction":
            assert sorted(direction_of(o) for o in objs) == sorted(row["choices"])
        elif kind == "colour_of_shape":
            assert sorted(o["colour"] for o in objs) == sorted(row["choices"])
        else:
            assert sorted(o["shape"] for o in objs) == sorted(row["choices"])


def test_sound_source_is_unique_and_distractors_pulse_too() -> None:
    for row in rows("mini_avssd"):
        starts = [tuple(p[0] for p in o["pulses"]) for o in row["meta"]["objects"]]
        assert all(len(s) == 3 for s in starts)
        assert len({t for s in starts for t in s}) == 12  # no two objects pulse together
        assert starts.count(tuple(row["meta"]["sound_onsets_s"])) == 1


def test_matching_labels_follow_from_the_parameters() -> None:
    for row in rows("mini_avm"):
        meta = row["meta"]
        if meta["kind"] == "bounce":
            matched = meta["sounds_s"] == meta["bounces_s"]
        else:
            matched = meta["shown"] in meta["speech"]["text"]
        assert matched == meta["matched"] == (row["references"] == ["yes"]), row["id"]


# ---------------------------------------------------------------------------------------------
# media


def dominant_colour(rgb: np.ndarray) -> str:
    r, g, b = (float(v) for v in rgb)
    if r > 170 and g > 150 and b < 100:
        return "yellow"
    return {0: "red", 1: "green", 2: "blue"}[int(np.argmax([r, g, b]))]


def test_images_show_the_described_objects() -> None:
    for row in rows("mini_isqa"):
        image = np.asarray(Image.open(media(row["image"])).convert("RGB"))
        assert image.shape == (128, 128, 3)
        for obj in row["meta"]["objects"]:
            y, x = int(round(obj["y"])), int(round(obj["x"]))
            assert dominant_colour(image[y, x]) == obj["colour"], (row["id"], obj)


def test_first_video_frames_show_the_described_objects() -> None:
    for row in rows("mini_videoqa")[:6]:
        with av.open(str(media(row["video"]))) as container:
            assert not container.streams.audio  # video QA carries no sound
            stream = container.streams.video[0]
            assert (stream.codec_context.width, stream.codec_context.height) == (128, 128)
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert len(frames) == round(row["meta"]["duration_s"] * row["meta"]["fps"])
        for obj in row["meta"]["objects"]:
            if obj.get("appears_at", 0.0) == 0.0:
                y, x = int(round(obj["y"])), int(round(obj["x"]))
                assert dominant_colour(frames[0][y, x]) == obj["colour"], (row["id"], obj)


@pytest.mark.parametrize("task", ["mini_asr", "mini_audiocaps", "mini_isqa", "mini_avsr"])
def test_flac_files_are_short_16k_mono(task: str) -> None:
    for row in rows(task)[:8]:
        info = sf.info(str(media(row["audio"])))
        assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
        assert 1.0 <= info.duration <= 6.0


@pytest.mark.parametrize("task", ["mini_avqa", "mini_avm", "mini_avssd"])
def test_av_videos_carry_audio_as_long_as_the_picture(task: str) -> None:
    for row in rows(task)[:4]:
        with av.open(str(media(row["video"]))) as container:
            assert container.streams.audio, f"{row['id']}: no audio stream"
            video, audio = container.streams.video[0], container.streams.audio[0]
            video_s = float(video.duration * video.time_base)
            audio_s = float(audio.duration * audio.time_base)
        assert video_s == pytest.approx(row["meta"]["duration_s"], abs=0.01)
        assert audio_s == pytest.approx(video_s, abs=0.07)  # one AAC frame


def test_bounce_sounds_are_where_the_parameters_say() -> None:
    bounce = [r for r in rows("mini_avm") if r["meta"]["kind"] == "bounce"][:4]
    for row in bounce:
        signal, rate = decode_audio(media(row["video"]))
        found = onsets(signal, rate)
        assert found == pytest.approx(row["meta"]["sounds_s"], abs=0.02), row["id"]


def test_sound_source_tones_start_with_the_pulses() -> None:
    for row in rows("mini_avssd")[:4]:
        signal, rate = decode_audio(media(row["video"]))
        assert onsets(signal, rate) == pytest.approx(row["meta"]["sound_onsets_s"], abs=0.02), row["id"]


# ---------------------------------------------------------------------------------------------
# build record and size


def test_build_info_lists_every_file_with_its_hash() -> None:
    info = build_info()
    on_disk = {
        p.relative_to(MINI).as_posix()
        for p in MINI.rglob("*")
        if p.is_file() and (p.suffix in MEDIA_SUFFIXES or p.suffix == ".jsonl")
    }
    assert set(info["files"]) == on_disk
    for relative, digest in info["files"].items():
        assert sha256(MINI / relative) == digest, relative
    assert info["tasks"] == {task: len(rows(task)) for task in TASKS}
    assert info["espeak_ng"]["version"]


def test_total_size_is_within_budget() -> None:
    total = sum(p.stat().st_size for p in MINI.rglob("*") if p.is_file())
    assert total <= SIZE_LIMIT, f"tasks/mini holds {total / 1e6:.1f} MB"


def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    """Regenerating two samples of three tasks gives byte-identical manifests and media."""
    executable = shutil.which("espeak-ng")
    if executable is None:
        pytest.skip("espeak-ng is not installed")
    info = build_info()
    version = subprocess.run([executable, "--version"], capture_output=True, text=True).stdout
    recorded = info["espeak_ng"]["version"]
    ffmpeg = {k: ".".join(map(str, v)) for k, v in sorted(av.library_versions.items())}
    if not version.startswith(recorded) or ffmpeg != info["tools"]["ffmpeg_libraries"]:
        pytest.skip(
            f"tool versions differ from the build ({recorded}, FFmpeg {info['tools']['ffmpeg_libraries']})"
        )
    tasks = ["mini_asr", "mini_avm", "mini_isqa"]
    cmd = [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--tasks", ",".join(tasks), "--limit", "2"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    produced = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(produced) == 3 + 2 * 1 + 2 * 1 + 2 * 2  # manifests; asr flac; avm mp4; isqa png+flac
    for path in produced:
        relative = path.relative_to(tmp_path).as_posix()
        assert sha256(path) == info["files"][relative], relative
