"""The one downmix and the one resampler every audio path goes through."""

from __future__ import annotations

import numpy as np


def downmix(samples: np.ndarray) -> np.ndarray:
    """Mono float32 from (frames,) or (frames, channels): the mean of the channels."""
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    if samples.shape[1] == 1:
        return samples[:, 0].astype(np.float32, copy=False)
    return samples.mean(axis=1, dtype=np.float32)


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample mono audio with torchaudio's band-limited (windowed sinc) interpolation.

    Args:
        audio: 1-D waveform.
        source_rate: Its sample rate in Hz.
        target_rate: The wanted sample rate in Hz.

    Returns:
        1-D float32 array of ``ceil(len(audio) * target_rate / source_rate)`` samples.
    """
    if source_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {source_rate} -> {target_rate}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if source_rate == target_rate or audio.size == 0:
        return audio
    import torch
    import torchaudio.functional as F

    with torch.inference_mode():
        out = F.resample(torch.from_numpy(audio), int(source_rate), int(target_rate))
    return out.numpy()
