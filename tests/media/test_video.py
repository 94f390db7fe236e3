"""Video decoding: which frames come back, their timestamps, rotation, size, and bad input.

Generated videos show their own frame index (``factory.read_index``), so every test checks
the decoded pixels, not only shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from savbench.data import MediaRef
from savbench.media import MediaError, load_video
from tests.conftest import shared_file
from tests.media.factory import (
    make_audio_file,
    make_mp4,
    make_rotated,
    make_text,
    make_truncated,
    make_wav,
    make_with_cover_art,
    read_index,
)

BACKENDS = ["decord", "pyav"]


def on_screen(times: list[float], t: float) -> int:
    """Index of the frame shown at time t: the last one that started at or before t."""
    return max(i for i, start in enumerate(times) if start <= t + 1e-9)


def check_backend(clip, backend: str) -> None:
    assert clip.backend == backend, "the forced decoder was not the one that ran"


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_sampling_takes_segment_centres(tmp_path: Path, backend: str) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=20, fps=10)  # frame k on screen [k/10, (k+1)/10)
    clip = load_video(path, num_frames=4, backend=backend)
    check_backend(clip, backend)
    # segments of 0.5 s, centres 0.25, 0.75, 1.25, 1.75 s
    assert read_index(clip.frames) == [2, 7, 12, 17]
    np.testing.assert_allclose(clip.timestamps, [0.2, 0.7, 1.2, 1.7], atol=1e-6)
    assert clip.duration == pytest.approx(2.0) and clip.source_fps == pytest.approx(10.0)
    assert clip.frames.shape == (4, 32, 32, 3) and clip.frames.dtype == np.uint8


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_times_on_frame_boundaries(tmp_path: Path, backend: str) -> None:
    # B-frames reorder decoding; centres 0.3, 0.9, ... fall exactly where frames start
    path = make_mp4(tmp_path / "x264.mp4", frames=30, fps=10, codec="libx264", bframes=2, with_audio=False)
    clip = load_video(path, num_frames=5, backend=backend)
    check_backend(clip, backend)
    assert read_index(clip.frames) == [3, 9, 15, 21, 27]
    np.testing.assert_allclose(clip.timestamps, [0.3, 0.9, 1.5, 2.1, 2.7], atol=1e-6)


def test_fps_sampling_and_its_cap(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=40, fps=10, with_audio=False)  # 4 s
    at_2fps = load_video(path, fps=2)
    assert read_index(at_2fps.frames) == [2, 7, 12, 17, 22, 27, 32, 37]  # centres of 0.5 s periods
    capped = load_video(path, fps=10, max_frames=5)  # 40 samples wanted, 5 allowed: uniform
    assert read_index(capped.frames) == [4, 12, 20, 28, 36]
    short = load_video(MediaRef(path=str(path), start=1.0, end=1.5), fps=1)  # clip shorter than 1 s
    assert read_index(short.frames) == [12] and short.timestamps.tolist() == [0.2]
    assert read_index(load_video(path).frames) == list(range(40))  # default: up to max_frames


@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate_uses_presentation_times(tmp_path: Path, backend: str) -> None:
    times = [0.0, 0.1, 0.2, 0.3, 1.0, 1.1, 2.5, 2.6, 2.7, 3.9]
    path = make_mp4(tmp_path / "vfr.mp4", times=times, with_audio=False)
    clip = load_video(path, num_frames=8, backend=backend)
    check_backend(clip, backend)
    centres = [(k + 0.5) * clip.duration / 8 for k in range(8)]
    expected = sorted({on_screen(times, c) for c in centres})
    assert expected == [2, 3, 5, 7, 8]  # index arithmetic at the mean rate would pick others
    assert read_index(clip.frames) == expected
    np.testing.assert_allclose(clip.timestamps, [times[i] for i in expected], atol=1e-6)
    assert 3.9 < clip.duration < 4.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_window(tmp_path: Path, backend: str) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=30, fps=10)
    clip = load_video(MediaRef(path=str(path), start=1.0, end=2.0), num_frames=2, backend=backend)
    assert read_index(clip.frames) == [12, 17]  # centres 1.25 and 1.75 s
    np.testing.assert_allclose(clip.timestamps, [0.2, 0.7], atol=1e-6)
    assert clip.duration == pytest.approx(1.0)
    # a clip starting while frame 0 is on screen: that frame counts from the clip start
    slow = make_mp4(tmp_path / "slow.mp4", times=[0.0, 1.0, 2.0, 3.0], with_audio=False)
    clip = load_video(MediaRef(path=str(slow), start=0.5, end=2.5), num_frames=4, backend=backend)
    assert read_index(clip.frames) == [0, 1, 2]  # centres 0.75, 1.25, 1.75, 2.25 s
    np.testing.assert_allclose(clip.timestamps, [0.0, 0.5, 1.5], atol=1e-6)
    end_past_video = load_video(MediaRef(path=str(path), start=2.5, end=10.0), num_frames=1, backend=backend)
    assert end_past_video.duration == pytest.approx(0.5) and read_index(end_past_video.frames) == [27]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_frame_video_gives_one_frame(tmp_path: Path, backend: str) -> None:
    clip = load_video(make_mp4(tmp_path / "one.mp4", frames=1, fps=8), num_frames=8, backend=backend)
    assert len(clip) == 1 and read_index(clip.frames) == [0] and clip.timestamps.tolist() == [0.0]
    assert clip.duration == pytest.approx(1 / 8)


def test_fewer_frames_than_samples(tmp_path: Path) -> None:
    clip = load_video(make_mp4(tmp_path / "v.mp4", frames=3, fps=3), num_frames=10)
    assert read_index(clip.frames) == [0, 1, 2]  # each distinct frame once, in order
    np.testing.assert_allclose(clip.timestamps, [0, 1 / 3, 2 / 3], atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_shorter_side(tmp_path: Path, backend: str) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=4, fps=4, size=(128, 64))
    clip = load_video(path, num_frames=2, size=32, backend=backend)
    assert clip.frames.shape == (2, 32, 64, 3)
    assert read_index(clip.frames) == [1, 3]  # centres 0.25 and 0.75 s; the grid survives downscaling


@pytest.mark.parametrize(
    ("degrees", "corner"), [(0, "top-left"), (90, "top-right"), (180, "bottom-right"), (270, "bottom-left")]
)
def test_rotation_metadata_is_applied(tmp_path: Path, degrees: int, corner: str) -> None:
    def marked(_i: int, height: int, width: int) -> np.ndarray:
        image = np.zeros((height, width, 3), np.uint8)
        image[: height // 4, : width // 4] = 255  # a mark in the stored top-left corner
        return image

    stored = make_mp4(tmp_path / "v.mp4", frames=4, fps=4, size=(64, 32), draw=marked)
    path = make_rotated(stored, tmp_path / f"r{degrees}.mp4", degrees) if degrees else stored
    clip = load_video(path, num_frames=1, size=None, backend="decord")
    upright = (32, 64) if degrees in (0, 180) else (64, 32)
    assert clip.frames.shape[1:3] == upright
    bright = clip.frames[0].mean(axis=2) > 128
    corners = {
        "top-left": bright[:4, :4],
        "top-right": bright[:4, -4:],
        "bottom-right": bright[-4:, -4:],
        "bottom-left": bright[-4:, :4],
    }
    assert [name for name, block in corners.items() if block.all()] == [corner]
    if degrees:
        assert clip.backend == "pyav"  # decord mishandles 180-degree turns, so it is not used


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".avi", ".mov"])
def test_other_containers(tmp_path: Path, suffix: str) -> None:
    import av

    path = make_mp4(tmp_path / f"v{suffix}", frames=20, fps=10, size=(64, 64))
    with av.open(str(path)) as container:  # a plain decode of every frame: time -> index
        stream = container.streams.video[0]
        shown = {
            round(float(f.pts * stream.time_base), 6): read_index(f.to_ndarray(format="rgb24"))[0]
            for f in container.decode(stream)
        }
    for backend in BACKENDS:
        clip = load_video(path, num_frames=4, backend=backend)
        assert len(clip) == 4
        assert read_index(clip.frames) == [shown[round(t, 6)] for t in clip.timestamps]


def test_in_memory_bytes_match_the_file(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=20, fps=10)
    clip = load_video(MediaRef(data=path.read_bytes(), label="dataset[7]"), num_frames=4)
    assert clip.backend == "pyav" and read_index(clip.frames) == [2, 7, 12, 17]


def test_decord_errors_fall_back_to_pyav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import savbench.media._video as video

    def broken(*_args, **_kwargs):
        raise RuntimeError("[h264 @ 0x0] EOF reached, retrying")

    monkeypatch.setattr(video, "decode_decord", broken)
    clip = load_video(make_mp4(tmp_path / "v.mp4", frames=20, fps=10), num_frames=4, backend="decord")
    assert clip.backend == "pyav" and read_index(clip.frames) == [2, 7, 12, 17]


def test_backend_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import savbench.media._video as video

    path = make_mp4(tmp_path / "v.mp4", frames=20, fps=10)
    assert load_video(path, num_frames=2).backend == "decord"
    monkeypatch.setenv("SAVBENCH_VIDEO_BACKEND", "pyav")
    assert load_video(path, num_frames=2).backend == "pyav"
    assert load_video(path, num_frames=2, backend="decord").backend == "decord"  # the argument wins
    monkeypatch.setenv("SAVBENCH_VIDEO_BACKEND", "opencv")
    with pytest.raises(ValueError, match="backend"):
        load_video(path)
    monkeypatch.delenv("SAVBENCH_VIDEO_BACKEND")
    monkeypatch.setattr(video, "DECORD_MAX_SECONDS", 1.0)  # a "long" video: PyAV seeks instead
    assert load_video(path, num_frames=2).backend == "pyav"


def test_wrong_extension(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=20, fps=10)
    for name in ("v.avi", "v.txt"):
        renamed = tmp_path / name
        renamed.write_bytes(path.read_bytes())
        assert read_index(load_video(renamed, num_frames=4).frames) == [2, 7, 12, 17]


def test_backends_agree_on_a_real_video() -> None:
    path = shared_file("media", "4405327307.mp4")
    a = load_video(path, num_frames=6, backend="decord")
    b = load_video(path, num_frames=6, backend="pyav")
    check_backend(a, "decord")
    np.testing.assert_allclose(a.timestamps, b.timestamps, atol=1e-5)
    assert np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() < 1.0
    assert a.frames.shape == (6, 360, 640, 3) and 23 < a.duration < 24
    assert a.source_fps == pytest.approx(30000 / 1001, rel=1e-3)
    assert np.all(np.diff(a.timestamps) > 3.5)  # segment length 23.7 / 6 s, frames 1/30 s apart


def expect_error(path: Path | MediaRef, reason: str, **kwargs) -> MediaError:
    with pytest.raises(MediaError, match=reason) as info:
        load_video(path, **kwargs)
    name = path.name if isinstance(path, MediaRef) else str(path)
    assert info.value.path == name and info.value.stream == "video"
    return info.value


def test_missing_empty_text_and_folder(tmp_path: Path) -> None:
    expect_error(tmp_path / "missing.mp4", "file not found")
    (tmp_path / "empty.mp4").write_bytes(b"")
    expect_error(tmp_path / "empty.mp4", "empty file")
    expect_error(make_text(tmp_path / "notes.mp4"), "not a media file")
    (tmp_path / "dir.mp4").mkdir()
    expect_error(tmp_path / "dir.mp4", "is a folder")


def test_audio_only_files_have_no_video_stream(tmp_path: Path) -> None:
    error = expect_error(make_audio_file(tmp_path / "speech.m4a"), "no video stream")
    assert "audio" in error.reason  # names what the file holds
    expect_error(make_audio_file(tmp_path / "speech.mp4", format="mp4"), "no video stream")
    expect_error(make_wav(tmp_path / "speech.mp4", format="WAV"), "no video stream")
    expect_error(make_with_cover_art(tmp_path / "song.mp3"), "no video stream in the file besides cover art")


def test_truncated_videos(tmp_path: Path) -> None:
    moov_last = make_mp4(tmp_path / "a.mp4", frames=24, fps=8)
    expect_error(make_truncated(moov_last, tmp_path / "cut_a.mp4"), "truncated or damaged MP4")
    moov_first = make_mp4(tmp_path / "b.mp4", frames=24, fps=8, faststart=True)
    for backend in BACKENDS:
        error = expect_error(
            make_truncated(moov_first, tmp_path / "cut_b.mp4", keep=0.5), "truncated video", backend=backend
        )
        assert "declares 3.000 s" in error.reason


def test_clip_outside_the_video(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=8, fps=8)
    expect_error(MediaRef(path=str(path), start=3.0), "starts at 3 s but the video lasts 1.000 s")
    expect_error(MediaRef(path=str(path), start=-1.0), "invalid clip start")


def test_argument_checks(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "v.mp4", frames=8, fps=8)
    with pytest.raises(ValueError, match="either num_frames or fps"):
        load_video(path, num_frames=4, fps=1.0)
    with pytest.raises(ValueError, match="backend"):
        load_video(path, backend="opencv")
