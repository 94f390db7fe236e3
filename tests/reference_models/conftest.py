"""Fixtures for the reference model tests: the tiny model and synthetic audio-visual samples."""

from __future__ import annotations

import numpy as np
import pytest

from reference_models.video_salmonn import AVSample, VideoSalmonn, build_model, get_preset


def make_sample(
    seed: int,
    seconds: float = 30.0,
    *,
    audio: bool = True,
    video: bool = True,
    image: bool = False,
    prompt: str = "What happens in the clip?",
    answer: str | None = None,
) -> AVSample:
    """A synthetic sample: noise audio, random frames at 2 fps (a frame every 0.5 s)."""
    rng = np.random.default_rng(seed)
    wave = (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32) if audio else None
    count = max(1, int(seconds * 2))
    frames = rng.integers(0, 256, size=(count, 24, 32, 3), dtype=np.uint8) if video else None
    return AVSample(
        prompt=prompt,
        audio=wave,
        frames=frames,
        timestamps=np.arange(count) * 0.5 if video else None,
        duration=seconds if video else None,
        source_fps=2.0,
        image=rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8) if image else None,
        answer=answer,
    )


@pytest.fixture(scope="session")
def tiny() -> VideoSalmonn:
    model, _ = build_model(get_preset("tiny"))
    return model
