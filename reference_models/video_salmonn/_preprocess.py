"""Raw media to model inputs, as the official data pipeline does it.

- Audio: mono float at 16 kHz, cut to 30 s, zero-padded to 3 s (video-SALMONN's dataset).
- Video: split into 1 s clips (the last one back-padded to end at the clip's end, at most 60
  clips), and the first and last frame of each clip are kept: 2 frames per second, matching the
  0.5 s audio steps. Frames are resized to 224x224 with bicubic interpolation on float tensors
  (no antialiasing) and normalised with CLIP's mean and std.
- Image: PIL bicubic resize to 224x224 (torchvision's ``Resize`` on a PIL image), same
  normalisation.

When the caller decoded only some frames, each clip takes the decoded frames inside it (first and
last) or, when none is inside, the ones nearest to the clip's first and last frame times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from reference_models.video_salmonn._config import MediaConfig


@dataclass
class AVSample:
    """One model input.

    Args:
        prompt: The user's question (goes to the LLM prompt and to InstructBLIP's Q-Former).
        audio: Mono float32 waveform at 16 kHz, or None.
        frames: Video frames, uint8 (T, H, W, 3) RGB, or None.
        timestamps: Presentation time of each frame in seconds (T,).
        duration: Video duration in seconds (defaults to the last timestamp plus one frame).
        source_fps: Frame rate of the source video (0 when unknown).
        image: An image, uint8 (H, W, 3) RGB, or None (ignored when frames are given).
        answer: Target text for training, or None.
    """

    prompt: str
    audio: np.ndarray | None = None
    frames: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    duration: float | None = None
    source_fps: float = 0.0
    image: np.ndarray | None = None
    answer: str | None = None

    @property
    def has_visual(self) -> bool:
        return self.frames is not None or self.image is not None


def prepare_audio(waveform: np.ndarray, media: MediaConfig) -> np.ndarray:
    """Mono float32 audio cut to ``max_audio_seconds`` and zero-padded to ``min_audio_seconds``."""
    audio = np.asarray(waveform, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (1-D), got shape {audio.shape}")
    audio = audio[: int(round(media.max_audio_seconds * media.sample_rate))]
    minimum = int(round(media.min_audio_seconds * media.sample_rate))
    if len(audio) < minimum:
        audio = np.concatenate([audio, np.zeros(minimum - len(audio), dtype=np.float32)])
    return audio


def clip_windows(duration: float, media: MediaConfig) -> list[tuple[float, float]]:
    """The (start, end) of each clip: consecutive ``clip_seconds`` windows, the last one moved
    back to end at ``duration`` (pytorchvideo's ``UniformClipSampler(backpad_last=True)``)."""
    step = media.clip_seconds
    count = max(1, math.ceil(duration / step - 1e-6))
    windows = []
    for k in range(min(count, media.max_clips)):
        start, end = k * step, (k + 1) * step
        if end > duration:
            start = max(0.0, duration - step)
            end = start + step
        windows.append((start, end))
    return windows


def select_frames(
    timestamps: np.ndarray, duration: float, source_fps: float, media: MediaConfig
) -> np.ndarray:
    """Indices of the frames to keep: ``frames_per_clip`` per clip (first and last of the clip).

    Args:
        timestamps: Times of the decoded frames, seconds.
        duration: Video duration, seconds.
        source_fps: Source frame rate (0 when unknown), used to place the last frame of a clip.
        media: Clip settings.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        raise ValueError("a video needs at least one frame")
    frame_dt = 1.0 / source_fps if source_fps > 0 else 0.0
    chosen: list[int] = []
    for start, end in clip_windows(duration, media):
        inside = np.nonzero((ts >= start - 1e-6) & (ts < end - 1e-6))[0]
        if inside.size:
            picks = np.linspace(0, inside.size - 1, media.frames_per_clip).astype(np.int64)
            chosen.extend(int(inside[p]) for p in picks)
        else:
            last = max(start, end - frame_dt)
            for target in np.linspace(start, last, media.frames_per_clip):
                chosen.append(int(np.argmin(np.abs(ts - target))))
    return np.asarray(chosen, dtype=np.int64)


def _normalise(pixels: torch.Tensor, media: MediaConfig) -> torch.Tensor:
    mean = torch.tensor(media.image_mean, dtype=pixels.dtype).view(1, 3, 1, 1)
    std = torch.tensor(media.image_std, dtype=pixels.dtype).view(1, 3, 1, 1)
    return (pixels - mean) / std


def frames_to_pixels(frames: np.ndarray, size: int, media: MediaConfig) -> torch.Tensor:
    """uint8 (T, H, W, 3) frames to normalised float32 (T, 3, size, size)."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"video frames must have shape (T, H, W, 3), got {arr.shape}")
    pixels = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    pixels = F.interpolate(pixels, size=(size, size), mode="bicubic", align_corners=False)
    return _normalise(pixels, media)


def image_to_pixels(image: np.ndarray, size: int, media: MediaConfig) -> torch.Tensor:
    """uint8 (H, W, 3) image to normalised float32 (1, 3, size, size), PIL bicubic resize."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"an image must have shape (H, W, 3), got {arr.shape}")
    resized = Image.fromarray(arr.astype(np.uint8)).resize((size, size), Image.BICUBIC)
    pixels = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    return _normalise(pixels, media)


def video_pixels(sample: AVSample, size: int, media: MediaConfig) -> torch.Tensor:
    """The 2-per-second frames of a sample's video as normalised pixels (T, 3, size, size)."""
    if sample.frames is None:
        raise ValueError("the sample has no video frames")
    frames = np.asarray(sample.frames)
    if sample.timestamps is None:
        raise ValueError("video frames need timestamps")
    ts = np.asarray(sample.timestamps, dtype=np.float64)
    if ts.shape[0] != frames.shape[0]:
        raise ValueError(f"{frames.shape[0]} frames but {ts.shape[0]} timestamps")
    fps = float(sample.source_fps or 0.0)
    duration = sample.duration
    if duration is None or duration <= 0:
        duration = float(ts[-1]) + (1.0 / fps if fps > 0 else 0.0)
    index = select_frames(ts, duration, fps, media)
    return frames_to_pixels(frames[index], size, media)
