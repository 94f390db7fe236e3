"""A 10-minute audio-visual file through the request builder with the SAVE tasks' settings
(2 frames/s, at most 120 frames, audio track of the video): only the sampled frames are decoded
and kept, so memory stays far below what the whole video would take."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks._monitor import peak_rss_mib, reset_peak_rss
from benchmarks._synthetic import ClipSettings, write_clip
from savbench.adapters import GenerationSettings
from savbench.data import MediaRef, Sample
from savbench.media import probe
from savbench.runner import RequestPlan, build_request

LONG = ClipSettings(seconds=600.0, fps=10, width=160, height=120, gop=250)


def save_plan() -> RequestPlan:
    return RequestPlan(
        task="long",
        prompt_template="{question}",
        choice_format="lettered",
        decode_audio=True,
        audio_from_video=True,
        sample_rate=16000,
        max_audio_seconds=None,
        decode_video=True,
        video_settings={"fps": 2.0, "max_frames": 120},
        decode_image=False,
        modalities=frozenset({"speech", "audio", "video"}),
        generation=GenerationSettings(),
        seed=0,
    )


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_ten_minute_video_decodes_only_its_sampled_frames(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "long.mp4", 7, LONG)
    info = probe(path)
    assert info.frames == 6000 and info.duration == pytest.approx(600, abs=1)
    sample = Sample(id="long", task="long", video=MediaRef(path=str(path)), question="What happens?")
    build_request(sample, save_plan())  # imports and decoder set-up, outside the measurement
    if not reset_peak_rss():
        pytest.skip("cannot reset the peak RSS here")
    before = current_rss_mib()
    start = time.perf_counter()
    request = build_request(sample, save_plan()).item
    seconds = time.perf_counter() - start
    growth = peak_rss_mib() - before
    video = request.video
    assert len(video) == 120 and video.frames.shape[1:] == (120, 160, 3)
    assert video.timestamps[0] < 5 and video.timestamps[-1] > 595 and np.all(np.diff(video.timestamps) > 4)
    assert len(request.audio) == pytest.approx(600 * 16000, rel=0.01)
    every_frame_mib = info.frames * 160 * 120 * 3 / 2**20  # 330 MiB if all frames were kept
    audio_mib = request.audio.nbytes / 2**20  # 37 MiB: the task asks for the whole track
    assert growth < audio_mib + 0.4 * every_frame_mib, f"peak RSS grew by {growth:.0f} MiB"
    assert seconds < 30
