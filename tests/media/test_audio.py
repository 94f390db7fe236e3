"""Audio decoding: formats, resampling accuracy, downmix, clips, real files and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from savbench.data import MediaRef
from savbench.media import MediaError, is_silent, load_audio
from tests.conftest import shared_file
from tests.media.factory import make_audio_file, make_mp4, make_truncated, make_wav, make_with_cover_art, tone

RATE = 16000


def ideal(seconds: float, freq: float = 440.0, amplitude: float = 0.5, offset: float = 0.0) -> np.ndarray:
    """The tone as it should come out: sampled at 16 kHz directly, starting ``offset`` s in."""
    t = offset + np.arange(int(round(seconds * RATE))) / RATE
    return amplitude * np.sin(2 * np.pi * freq * t)


def dominant_frequency(audio: np.ndarray) -> float:
    padded = np.zeros(8 * len(audio))  # zero-padding: 1/8 Hz bins for a 1 s signal
    padded[: len(audio)] = audio * np.hanning(len(audio))
    return float(np.fft.rfftfreq(len(padded), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(padded)))])


def inner(audio: np.ndarray, edge: int = 400) -> np.ndarray:
    return audio[edge:-edge]  # the resampler's filter has edge effects at both ends


@pytest.mark.parametrize(
    ("rate", "subtype", "tolerance"),
    [
        (16000, "PCM_16", 1e-3),
        (8000, "PCM_U8", 2e-2),  # 8-bit: quantisation step 1/128
        (44100, "PCM_24", 2e-3),
        (48000, "FLOAT", 2e-3),
        (22050, "PCM_16", 2e-3),
    ],
)
def test_pcm_wav_resampled_to_the_exact_waveform(
    tmp_path: Path, rate: int, subtype: str, tolerance: float
) -> None:
    audio = load_audio(make_wav(tmp_path / "t.wav", sample_rate=rate, subtype=subtype))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == RATE  # 1 s, to the sample
    np.testing.assert_allclose(inner(audio), inner(ideal(1.0)), atol=tolerance)


@pytest.mark.parametrize(("suffix", "rate"), [(".flac", 44100), (".ogg", 48000), (".mp3", 44100)])
def test_compressed_files_keep_frequency_and_duration(tmp_path: Path, suffix: str, rate: int) -> None:
    audio = load_audio(make_wav(tmp_path / f"t{suffix}", seconds=1.0, sample_rate=rate, freq=523.25))
    assert abs(dominant_frequency(audio) - 523.25) < 1.0
    assert abs(len(audio) / RATE - 1.0) < (0.002 if suffix == ".flac" else 0.06)  # lossy codecs pad
    assert 0.4 < np.abs(audio).max() < 0.6


@pytest.mark.parametrize("suffix", [".m4a", ".opus", ".webm", ".mka"])
def test_container_audio_through_pyav(tmp_path: Path, suffix: str) -> None:
    audio = load_audio(make_audio_file(tmp_path / f"a{suffix}", sample_rate=48000, channels=2, freq=440.0))
    assert abs(dominant_frequency(audio) - 440.0) < 1.0
    assert abs(len(audio) / RATE - 1.0) < 0.06


def test_downmix_is_the_mean_of_channels(tmp_path: Path) -> None:
    wave = tone(1.0, 48000, channels=1)
    opposite = make_wav(tmp_path / "opposite.wav", sample_rate=48000, signal=np.stack([wave, -wave], axis=1))
    assert is_silent(load_audio(opposite))  # a left-only or right-only reading would be loud
    one_side = make_wav(tmp_path / "left.wav", sample_rate=48000, signal=np.stack([wave, 0 * wave], axis=1))
    np.testing.assert_allclose(inner(load_audio(one_side)), inner(ideal(1.0, amplitude=0.25)), atol=2e-3)
    gains = np.array([1.0, 0.5, 0.0, 0.25, 0.75, 0.5])  # 5.1: mean gain 0.5
    surround = make_wav(
        tmp_path / "51.wav", sample_rate=48000, subtype="PCM_24", signal=wave[:, None] * gains
    )
    np.testing.assert_allclose(inner(load_audio(surround)), inner(ideal(1.0, amplitude=0.25)), atol=2e-3)


def test_other_output_rates(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "t.wav", sample_rate=44100)
    assert len(load_audio(path, sample_rate=24000)) == 24000
    assert len(load_audio(path, sample_rate=44100)) == 44100


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a", ".opus", ".webm", ".mka"])
def test_clip_window_is_the_same_slice_as_in_the_whole_file(tmp_path: Path, suffix: str) -> None:
    make = make_wav if suffix in (".wav", ".flac", ".mp3") else make_audio_file
    path = make(tmp_path / f"long{suffix}", seconds=3.0, sample_rate=16000, freq=440.0)
    clip = load_audio(MediaRef(path=str(path), start=1.0, end=2.5))
    assert len(clip) == 24000
    whole = load_audio(path)[16000:40000]
    # a clip misplaced by 0.1 ms would differ by up to 0.5 * 2 * pi * 440 * 1e-4 = 0.14
    np.testing.assert_allclose(inner(clip), inner(whole), atol=0.01)
    if suffix in (".wav", ".flac"):
        np.testing.assert_allclose(clip, ideal(1.5, offset=1.0), atol=1e-3)


def test_max_seconds_truncates_from_the_clip_start(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "long.wav", seconds=3.0)
    assert len(load_audio(path, max_seconds=0.5)) == 8000
    capped = load_audio(MediaRef(path=str(path), start=1.0), max_seconds=0.25)
    np.testing.assert_allclose(capped, ideal(0.25, offset=1.0), atol=1e-3)
    assert len(load_audio(MediaRef(path=str(path), start=2.5), max_seconds=2.0)) == 8000  # file ends first


def test_mp4_audio_track_matches_its_extracted_wav() -> None:
    from_video = load_audio(shared_file("media", "4405327307.mp4"))
    from_wav = load_audio(shared_file("media", "4405327307.wav"))
    assert abs(len(from_video) - len(from_wav)) <= 160  # within 10 ms
    n = min(len(from_video), len(from_wav))
    # best alignment within +-50 ms, then the waveforms must agree
    window = slice(RATE, 5 * RATE)
    lags = range(-800, 801, 1)
    scores = [np.dot(from_video[window], from_wav[window.start + lag : window.stop + lag]) for lag in lags]
    lag = lags[int(np.argmax(scores))]
    assert abs(lag) <= 16
    a = from_video[max(0, -lag) : n - max(0, lag)]
    b = from_wav[max(0, lag) : n - max(0, -lag)][: len(a)]
    assert np.corrcoef(a, b)[0, 1] > 0.99


def test_librispeech_flac() -> None:
    path = shared_file("media", "1272-128104-0000.flac")
    audio = load_audio(path)
    assert len(audio) == sf.info(str(path)).frames  # already 16 kHz: no resampling
    assert not is_silent(audio) and np.abs(audio).max() <= 1.0


def test_in_memory_bytes(tmp_path: Path) -> None:
    flac = make_wav(tmp_path / "a.flac", seconds=0.5)
    assert len(load_audio(MediaRef(data=flac.read_bytes(), label="dataset[3]"))) == 8000
    mp4 = make_mp4(tmp_path / "v.mp4", frames=8, fps=8, audio_seconds=1.0)
    assert abs(len(load_audio(MediaRef(data=mp4.read_bytes(), label="dataset[4]"))) - RATE) < 0.06 * RATE


def test_silent_audio_is_valid_input(tmp_path: Path) -> None:
    audio = load_audio(make_wav(tmp_path / "silence.wav", signal=np.zeros(16000)))
    assert len(audio) == 16000 and is_silent(audio)
    assert not is_silent(load_audio(make_wav(tmp_path / "quiet.wav", amplitude=0.01)))


def test_audio_tracks_of_video_containers(tmp_path: Path) -> None:
    for suffix in (".mp4", ".mkv", ".webm", ".avi"):
        path = make_mp4(tmp_path / f"v{suffix}", frames=16, fps=8, channels=2, freq=330.0)
        audio = load_audio(path)
        assert abs(dominant_frequency(audio) - 330.0) < 1.5, suffix
        assert abs(len(audio) / RATE - 2.0) < 0.1, suffix


def test_mp3_with_cover_art(tmp_path: Path) -> None:
    audio = load_audio(make_with_cover_art(tmp_path / "song.mp3", freq=440.0))
    assert abs(dominant_frequency(audio) - 440.0) < 1.0


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    wav_as_mp3 = make_wav(tmp_path / "really_a_wav.mp3", format="WAV", seconds=0.5)
    assert len(load_audio(wav_as_mp3)) == 8000
    flac_as_wav = make_wav(tmp_path / "really_a_flac.wav", format="FLAC", seconds=0.5)
    assert len(load_audio(flac_as_wav)) == 8000
    m4a_as_wav = make_audio_file(tmp_path / "really_an_m4a.wav", format="mp4", freq=440.0)
    assert abs(dominant_frequency(load_audio(m4a_as_wav)) - 440.0) < 1.0


def expect_error(path: Path | MediaRef, reason: str) -> MediaError:
    with pytest.raises(MediaError, match=reason) as info:
        load_audio(path)
    name = path.name if isinstance(path, MediaRef) else str(path)
    assert info.value.path == name and info.value.stream == "audio"
    assert name in str(info.value)
    return info.value


def test_missing_folder_empty_and_text_files(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.wav", "file not found")
    (tmp_path / "folder.wav").mkdir()
    expect_error(tmp_path / "folder.wav", "is a folder")
    (tmp_path / "empty.wav").write_bytes(b"")
    expect_error(tmp_path / "empty.wav", "empty file")
    (tmp_path / "text.wav").write_text("this is a transcript, not audio\n")
    expect_error(tmp_path / "text.wav", "not a media file")
    expect_error(MediaRef(data=b"", label="ds[0]"), "no data")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_wav(tmp_path / "locked.wav", seconds=0.1)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # root reads anything: make the check see what a user would
            monkeypatch.setattr(os, "access", lambda *_args, **_kw: False)
        expect_error(path, "permission denied")
    finally:
        path.chmod(0o644)


def test_zero_length_and_non_finite_samples(tmp_path: Path) -> None:
    expect_error(make_wav(tmp_path / "zero.wav", signal=np.zeros(0)), "zero-length")
    nan = np.array([0.1, np.nan, 0.2] * 100)
    error = expect_error(make_wav(tmp_path / "nan.wav", signal=nan, subtype="FLOAT"), "NaN or infinite")
    assert "100 NaN" in error.reason
    expect_error(
        make_wav(tmp_path / "inf.wav", signal=np.array([0.1, np.inf] * 50), subtype="FLOAT"),
        "NaN or infinite",
    )


def test_truncated_and_corrupt_files(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "full.wav", seconds=2.0)
    expect_error(make_truncated(wav, tmp_path / "cut.wav"), "truncated")
    flac = make_wav(tmp_path / "full.flac", seconds=2.0)
    expect_error(make_truncated(flac, tmp_path / "cut.flac"), "corrupt or truncated")
    mp3 = make_wav(tmp_path / "full.mp3", seconds=2.0)
    expect_error(make_truncated(mp3, tmp_path / "cut.mp3"), "truncated")
    mp4 = make_mp4(tmp_path / "full.mp4", frames=16, fps=8)  # index (moov) at the end: lost
    expect_error(make_truncated(mp4, tmp_path / "cut.mp4"), "truncated or damaged MP4")
    front = make_mp4(tmp_path / "front.mp4", frames=16, fps=8, faststart=True)  # index kept, data cut
    expect_error(make_truncated(front, tmp_path / "cut_front.mp4"), "truncated")


def test_no_audio_track(tmp_path: Path) -> None:
    error = expect_error(make_mp4(tmp_path / "mute.mp4", with_audio=False), "no audio track")
    assert "video" in error.reason  # says what the file holds instead


def test_clip_outside_the_audio(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "short.wav", seconds=1.0)
    expect_error(MediaRef(path=str(path), start=5.0), "starts at 5 s but the audio lasts 1.000 s")
    expect_error(MediaRef(path=str(path), start=0.5, end=0.2), "invalid clip end")
    m4a = make_audio_file(tmp_path / "short.m4a", seconds=1.0)
    expect_error(MediaRef(path=str(m4a), start=5.0), "starts at 5 s")


def test_argument_checks(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "t.wav", seconds=0.1)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(path, sample_rate=0)
    with pytest.raises(ValueError, match="max_seconds"):
        load_audio(path, max_seconds=0)
