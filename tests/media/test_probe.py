"""Header probes: streams, durations, rates and sizes without decoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from savbench.media import MediaError, probe
from tests.conftest import shared_file
from tests.media.factory import make_audio_file, make_mp4, make_text, make_wav, make_with_cover_art


def test_video_with_audio(tmp_path: Path) -> None:
    info = probe(
        make_mp4(tmp_path / "v.mp4", frames=20, fps=10, size=(48, 32), sample_rate=22050, channels=2)
    )
    assert info.has_audio and info.has_video
    assert (info.width, info.height, info.fps, info.frames) == (48, 32, 10.0, 20)
    assert (info.sample_rate, info.channels) == (22050, 2)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.video_codec == "mpeg4" and info.audio_codec == "aac"


def test_audio_only_and_video_only(tmp_path: Path) -> None:
    wav = probe(make_wav(tmp_path / "a.wav", seconds=1.5, sample_rate=8000))
    assert wav.has_audio and not wav.has_video and wav.sample_rate == 8000
    assert wav.duration == pytest.approx(1.5)
    m4a = probe(make_audio_file(tmp_path / "a.m4a", channels=6, sample_rate=48000))
    assert (m4a.channels, m4a.has_video, m4a.frames) == (6, False, 0)
    mute = probe(make_mp4(tmp_path / "mute.mkv", frames=30, fps=10, with_audio=False))
    assert not mute.has_audio and mute.frames == 30  # mkv declares no count: estimated
    song = probe(make_with_cover_art(tmp_path / "song.mp3"))
    assert song.has_audio and not song.has_video  # cover art is not a video


def test_real_video() -> None:
    info = probe(shared_file("media", "4405327307.mp4"))
    assert (info.width, info.height) == (640, 360) and info.sample_rate == 44100
    assert 23 < (info.duration or 0) < 24 and info.frames == 710


def test_not_media(tmp_path: Path) -> None:
    path = make_text(tmp_path / "x.mp4")
    with pytest.raises(MediaError, match="not a media file") as info:
        probe(path)
    assert info.value.path == str(path) and info.value.stream == "media"
