"""One run over a manifest holding every kind of bad media beside good files of every format.

Each bad file must become an error row naming the file and the reason while the run goes on;
each unusual but valid file must reach the model decoded correctly. The model is the oracle
behind a probe that checks what it was given (duration, pitch, level, which frames at which
times), so "scored" here means "decoded right", not only "did not fail".
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from model_adapters.baselines import OracleAdapter
from savbench.adapters import Request, register_adapter
from savbench.runner import RunConfig, run
from tests.media.factory import (
    make_audio_file,
    make_long_video,
    make_mp4,
    make_rotated,
    make_text,
    make_truncated,
    make_wav,
    read_index,
    tone,
)

RATE = 16000
AS_ROOT = os.geteuid() == 0  # root reads a chmod-000 file: there it is valid input


def dominant_frequency(audio: np.ndarray) -> float:
    padded = np.zeros(8 * len(audio))
    padded[: len(audio)] = audio * np.hanning(len(audio))
    return float(np.fft.rfftfreq(len(padded), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(padded)))])


def on_screen(times: list[float], t: float) -> int:
    return max(i for i, start in enumerate(times) if start <= t + 1e-6)


def audio_problems(audio: np.ndarray | None, rate: int, want: dict[str, Any]) -> list[str]:
    if audio is None:
        return ["no audio"]
    problems = []
    if audio.dtype != np.float32 or audio.ndim != 1 or rate != RATE or not np.isfinite(audio).all():
        problems.append(f"not finite mono float32 at 16 kHz: {audio.dtype} {audio.shape} {rate}")
    seconds = len(audio) / RATE
    if abs(seconds - want["seconds"]) > want.get("slack", 0.002):
        problems.append(f"{seconds:.4f} s instead of {want['seconds']}")
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if abs(peak - want["peak"]) > want.get("peak_slack", 0.03):
        problems.append(f"peak {peak:.3f} instead of {want['peak']}")
    if want.get("freq") and abs(dominant_frequency(audio) - want["freq"]) > 2.0:
        problems.append(f"pitch {dominant_frequency(audio):.1f} Hz instead of {want['freq']}")
    return problems


def video_problems(request: Request, want: dict[str, Any]) -> list[str]:
    clip = request.video
    if clip is None:
        return ["no video"]
    frames = clip.frames
    if want.get("rotate") == 90:  # shown turned clockwise; turn back to read the drawn index
        if frames.shape[1] <= frames.shape[2]:
            return [f"rotation not applied: frames {frames.shape}"]
        frames = np.rot90(frames, k=1, axes=(1, 2))
    if len(frames) != want["count"]:
        return [f"{len(frames)} frames instead of {want['count']}"]
    shown = [on_screen(want["times"], float(t)) for t in clip.timestamps]
    got = read_index(np.ascontiguousarray(frames))
    return [] if got == shown else [f"frames {got} at {clip.timestamps.tolist()}, expected {shown}"]


@register_adapter("test-media-probe")
class MediaProbe(OracleAdapter):
    """The oracle, answering only when the decoded media are what the sample's meta describes."""

    problems: ClassVar[dict[str, list[str]]] = {}

    def generate(self, requests: list[Request]) -> list[str]:
        outputs = []
        for request in requests:
            want = request.sample.meta
            problems = audio_problems(request.audio, request.sample_rate, want["audio"])
            problems += video_problems(request, want["video"])
            type(self).problems[request.sample.id] = problems
            outputs.append(request.sample.references[0] if not problems else "wrong: " + "; ".join(problems))
        return outputs


SPEC = """\
task: bad_media
description: Every kind of bad and unusual media in one manifest.
modalities: [video, audio]
audio_from_video: true
source: {kind: manifest, path: bad_media.jsonl, media_root: media}
prompt: "Describe the clip."
answer: free_text
metrics: [{name: exact_match}]
media: {video: {num_frames: 4}}
"""
TONE = {"seconds": 1.0, "peak": 0.5, "freq": 440.0}
GOOD_VIDEO = {"count": 4, "times": [i / 8 for i in range(16)]}
# AAC pads its last frame: up to 1024 samples (64 ms at 16 kHz) more than was encoded
VIDEO_AUDIO = {"seconds": 2.0, "peak": 0.3, "freq": 330.0, "slack": 0.065, "peak_slack": 0.06}


def build(root: Path) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Write media and manifest; returns {bad id: (file, reason)} and the good ids."""
    media = root / "media"
    media.mkdir(parents=True)
    make_mp4(media / "good.mp4", frames=16, fps=8)  # 2 s with a 330 Hz track
    make_wav(media / "good.wav", seconds=1.0)
    rows: list[dict[str, Any]] = []
    bad: dict[str, tuple[str, str]] = {}

    def add(sid: str, *, audio: str | None = None, video: str = "good.mp4", want_audio=None, want_video=None,
            error: tuple[str, str] | None = None) -> None:  # fmt: skip
        row = {"id": sid, "video": video, "references": ["decoded right"]}
        if audio is not None:
            row["audio"] = audio
        row["meta"] = {
            "audio": want_audio or (TONE if audio else VIDEO_AUDIO),
            "video": want_video or GOOD_VIDEO,
        }
        rows.append(row)
        if error:
            bad[sid] = error

    # --- bad: each must be an error row naming the file and the reason
    full = make_mp4(media / "full.mp4", frames=24, fps=8)
    make_truncated(full, media / "truncated.mp4")
    add("truncated-mp4", video="truncated.mp4", error=("truncated.mp4", "truncated"))
    make_mp4(media / "mute.mp4", frames=16, fps=8, with_audio=False)
    add("mp4-without-audio", video="mute.mp4", error=("mute.mp4", "no audio track"))
    make_audio_file(media / "speech.mp4", format="mp4")
    add("audio-only-mp4-as-video", video="speech.mp4", error=("speech.mp4", "no video stream"))
    make_wav(media / "zero.wav", signal=np.zeros(0))
    add("zero-length-wav", audio="zero.wav", error=("zero.wav", "zero-length"))
    (media / "empty.wav").write_bytes(b"")
    add("empty-file", audio="empty.wav", error=("empty.wav", "empty file"))
    make_wav(media / "nan.wav", signal=np.array([0.1, np.nan, 0.2] * 1000), subtype="FLOAT")
    add("nan-samples", audio="nan.wav", error=("nan.wav", "NaN or infinite"))
    make_wav(media / "inf.wav", signal=np.array([0.1, np.inf] * 1000), subtype="FLOAT")
    add("inf-samples", audio="inf.wav", error=("inf.wav", "NaN or infinite"))
    make_truncated(make_wav(media / "long.wav", seconds=2.0), media / "cut.wav")
    add("truncated-wav", audio="cut.wav", error=("cut.wav", "truncated"))
    make_text(media / "notes.mp4")
    add("text-named-mp4", video="notes.mp4", error=("notes.mp4", "not a media file"))
    add("missing-file", audio="missing.wav", error=("missing.wav", "file not found"))
    (media / "folder.wav").mkdir()
    add("folder-instead-of-file", audio="folder.wav", error=("folder.wav", "is a folder"))
    make_wav(media / "locked.wav", seconds=1.0).chmod(0)
    add("chmod-000", audio="locked.wav", error=None if AS_ROOT else ("locked.wav", "permission denied"))

    # --- valid but unusual: each must reach the model decoded right
    for sid, kwargs in {
        "silent-wav": dict(signal=np.zeros(RATE)),
        "pcm-u8-8khz": dict(sample_rate=8000, subtype="PCM_U8"),
        "pcm-24-44k": dict(sample_rate=44100, subtype="PCM_24"),
        "float32-48k": dict(sample_rate=48000, subtype="FLOAT"),
        "stereo": dict(sample_rate=44100, channels=2),
        "surround-5.1": dict(sample_rate=48000, channels=6, subtype="PCM_24"),
    }.items():
        make_wav(media / f"{sid}.wav", **kwargs)
        silent = sid == "silent-wav"
        add(sid, audio=f"{sid}.wav", want_audio={"seconds": 1.0, "peak": 0.0 if silent else 0.5,
                                                   "freq": None if silent else 440.0, "peak_slack": 0.03})  # fmt: skip
    lossy = {"seconds": 1.0, "peak": 0.5, "freq": 440.0, "slack": 0.06, "peak_slack": 0.1}
    make_wav(media / "tone.mp3", sample_rate=44100)
    add("mp3", audio="tone.mp3", want_audio=lossy)
    make_wav(media / "tone.ogg", sample_rate=48000)
    add("ogg-vorbis", audio="tone.ogg", want_audio=lossy)
    make_wav(media / "wav-named.mp3", format="WAV")
    add("wav-with-mp3-extension", audio="wav-named.mp3")
    (media / "mp4-named.avi").write_bytes((media / "good.mp4").read_bytes())
    add("mp4-with-avi-extension", video="mp4-named.avi")
    # sampled at segment centres 0.19, 0.58, 0.96, 1.35 s: frames 0, 2, 3, 4 (the mean rate would say 5)
    times = [0.0, 0.2, 0.25, 0.7, 1.1, 1.5]
    make_mp4(media / "vfr.mp4", times=times)
    add("variable-frame-rate", video="vfr.mp4", want_audio={**VIDEO_AUDIO, "seconds": 1.54},
        want_video={"count": 4, "times": times})  # fmt: skip
    make_rotated(
        make_mp4(media / "landscape.mp4", frames=16, fps=8, size=(64, 32)), media / "rotated.mp4", 90
    )
    add("rotated-90", video="rotated.mp4", want_video={**GOOD_VIDEO, "rotate": 90})
    make_mp4(media / "one.mp4", frames=1, fps=8)
    add("one-frame", video="one.mp4", want_audio={**VIDEO_AUDIO, "seconds": 0.125},
        want_video={"count": 1, "times": [0.0]})  # fmt: skip
    make_long_video(media / "three-hours.mp4", hours=3.0, fps=1.0, size=32, gop=600)
    add("three-hour-video", video="three-hours.mp4", audio="good.wav",
        want_video={"count": 4, "times": [float(i) for i in range(3 * 3600)]})  # fmt: skip
    (root / "bad_media.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "bad_media.yaml").write_text(textwrap.dedent(SPEC))
    good = [r["id"] for r in rows if r["id"] not in bad]
    return bad, good


def test_every_bad_file_is_an_error_row_and_every_valid_one_is_decoded_right(tmp_path: Path) -> None:
    bad, good = build(tmp_path)
    assert len(bad) >= 11 and len(good) >= 15
    try:
        outcome = run(RunConfig(model="test-media-probe", tasks=["bad_media"], include_paths=[str(tmp_path)],
                                output_dir=tmp_path / "out", num_workers=2, batch_size=4, progress=False,
                                bootstrap_samples=50))  # fmt: skip
    finally:
        (tmp_path / "media" / "locked.wav").chmod(0o644)
    rows = {r["id"]: r for r in map(json.loads, (outcome.run_dir / "samples.jsonl").read_text().splitlines())}
    assert len(rows) == len(bad) + len(good)
    for sid, (name, reason) in bad.items():
        error = rows[sid]["error"]
        assert error is not None, f"{sid}: {name} was accepted"
        assert error["kind"] == "media" and error["file"].endswith(name), (sid, error)
        assert name in error["message"] and reason in error["message"], (sid, error["message"])
    wrong = {
        sid: MediaProbe.problems.get(sid) or rows[sid]["error"]
        for sid in good
        if rows[sid]["prediction"] != "decoded right"
    }
    assert wrong == {}
    section = outcome.results["tasks"]["bad_media"]
    assert section["n_errors"] == len(bad) and section["errors_by_kind"] == {"media": len(bad)}
    assert section["n_scored"] == len(good) and section["metrics"]["exact_match"]["score"] == 100.0


@pytest.mark.skipif(not AS_ROOT, reason="the chmod-000 case is an error row above when not root")
def test_root_reads_a_chmod_000_file_so_it_is_valid_input_there(tmp_path: Path) -> None:
    from savbench.media import load_audio

    path = make_wav(tmp_path / "locked.wav", seconds=0.5)
    path.chmod(0)
    try:
        np.testing.assert_allclose(load_audio(path)[400:-400], tone(0.5, RATE, 440.0)[400:-400], atol=2e-3)
    finally:
        path.chmod(0o644)
