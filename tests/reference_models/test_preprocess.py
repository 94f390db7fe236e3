"""Media preprocessing follows the official pipeline: 1 s clips with a back-padded last clip,
first and last frame per clip, CLIP normalisation, audio cut at 30 s and padded to 3 s."""

from __future__ import annotations

import numpy as np
import pytest

from reference_models.video_salmonn import (
    MediaConfig,
    clip_windows,
    frames_to_pixels,
    image_to_pixels,
    prepare_audio,
    select_frames,
)

MEDIA = MediaConfig()


def test_clip_windows_backpad_the_last_clip() -> None:
    assert len(clip_windows(30.0, MEDIA)) == 30
    windows = clip_windows(30.5, MEDIA)
    assert len(windows) == 31
    assert windows[-1] == pytest.approx((29.5, 30.5))
    assert clip_windows(0.4, MEDIA) == [(0.0, 1.0)]
    assert len(clip_windows(100.0, MEDIA)) == 60  # only the first 60 s


def test_full_rate_frames_give_first_and_last_of_each_clip() -> None:
    fps = 25.0
    ts = np.arange(int(3 * fps)) / fps  # a 3 s video decoded at its own rate
    index = select_frames(ts, 3.0, fps, MEDIA)
    # Clip k holds frames 25k .. 25k+24; the official sampler keeps the two ends.
    assert index.tolist() == [0, 24, 25, 49, 50, 74]


def test_sparse_frames_pick_the_nearest() -> None:
    ts = np.array([0.0, 2.5])
    index = select_frames(ts, 3.0, 10.0, MEDIA)
    # Clip [1, 2) has no decoded frame: its first (1.0 s) and last (1.9 s) frame times take the
    # nearest decoded frames, 0.0 s and 2.5 s.
    assert index.tolist() == [0, 0, 0, 1, 1, 1]


def test_audio_is_cut_at_30s_and_padded_to_3s() -> None:
    long = np.ones(16000 * 45, dtype=np.float32)
    assert prepare_audio(long, MEDIA).shape == (16000 * 30,)
    short = np.ones(8000, dtype=np.float32)
    out = prepare_audio(short, MEDIA)
    assert out.shape == (16000 * 3,) and out[:8000].sum() == 8000 and not out[8000:].any()
    with pytest.raises(ValueError, match="mono"):
        prepare_audio(np.zeros((2, 100), dtype=np.float32), MEDIA)


def test_pixels_are_clip_normalised() -> None:
    colour = np.array([255, 0, 128], dtype=np.uint8)
    frame = np.broadcast_to(colour, (1, 40, 50, 3)).copy()
    expected = (colour / 255.0 - np.array(MEDIA.image_mean)) / np.array(MEDIA.image_std)
    video = frames_to_pixels(frame, 28, MEDIA)
    image = image_to_pixels(frame[0], 28, MEDIA)
    assert video.shape == image.shape == (1, 3, 28, 28)
    for pixels in (video, image):
        assert np.allclose(pixels[0, :, 5, 5].numpy(), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        frames_to_pixels(np.zeros((4, 4, 3), dtype=np.uint8), 28, MEDIA)
