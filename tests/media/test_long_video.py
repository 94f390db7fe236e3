"""A 3-hour video costs about what a 10-second one does: only the sampled frames are decoded
and kept. Each decode runs in a fresh process so its peak memory can be read on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.media.factory import make_long_video, make_mp4

CHILD = """
import json, resource, sys, time
import av, numpy as np
from savbench.media import load_video
from tests.media.factory import read_index
try:
    import decord
except ImportError:
    pass
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
clip = load_video(sys.argv[1], num_frames=8, backend=sys.argv[2])
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"index": read_index(clip.frames), "timestamps": clip.timestamps.tolist(),
                  "duration": clip.duration, "backend": clip.backend, "seconds": seconds,
                  "growth_mib": (after - before) / 1024}))
"""


def decode_in_child(path: Path, backend: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), backend],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("long")
    # 64x64 frames: keeping all 10800 decoded frames would cost 133 MB, plain to see
    long = make_long_video(folder / "three_hours.mp4", hours=3.0, fps=1.0, size=64, gop=300)
    short = make_mp4(folder / "ten_seconds.mp4", frames=10, fps=1.0, size=(64, 64), with_audio=False)
    return short, long


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_three_hour_video_stays_bounded(videos: tuple[Path, Path], backend: str) -> None:
    short, long = videos
    small = decode_in_child(short, backend)
    big = decode_in_child(long, backend)
    print(
        f"\n{backend}: 10 s video {small['seconds']:.3f} s +{small['growth_mib']:.1f} MiB; 3 h video {big['seconds']:.3f} s +{big['growth_mib']:.1f} MiB"
    )
    assert big["backend"] == backend
    hours = 3 * 3600
    assert big["duration"] == pytest.approx(hours, abs=1.0)
    centres = [int((k + 0.5) * hours / 8) for k in range(8)]  # 1 fps: frame i is shown at i s
    assert big["index"] == centres and big["timestamps"] == [float(c) for c in centres]
    assert big["growth_mib"] < small["growth_mib"] + 40
    assert big["seconds"] < 5.0


def test_pyav_decodes_only_near_the_sampled_times(
    videos: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import savbench.media._video_pyav as pyav_backend
    from savbench.media import load_video

    decoded = 0
    original = pyav_backend.decoded_frames

    def counting(*args, **kwargs):
        nonlocal decoded
        for item in original(*args, **kwargs):
            decoded += 1
            yield item

    monkeypatch.setattr(pyav_backend, "decoded_frames", counting)
    clip = load_video(videos[1], num_frames=8)  # a 3-hour video goes to PyAV by default
    assert len(clip) == 8 and clip.backend == "pyav"
    # from the keyframe before each sample (every 300 frames) to the sample: at most 8 x 301,
    # against 10800 for a decode of the whole video
    assert decoded <= 8 * 301 + 1
