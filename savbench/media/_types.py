"""Decoded media containers and the media error type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class MediaError(Exception):
    """A media file could not be decoded as the task needs it.

    The message always names the file, the stream and the reason, so that an error row in a
    report is enough to find and fix the input.

    Args:
        path: The file (or in-memory label) that failed.
        stream: Which stream was being decoded: ``audio``, ``video`` or ``image``.
        reason: What is wrong, in words a user can act on.
    """

    def __init__(self, path: str, stream: str, reason: str) -> None:
        self.path = path
        self.stream = stream
        self.reason = reason
        super().__init__(f"{path}: {stream}: {reason}")


@dataclass
class VideoClip:
    """Frames sampled from a video.

    Args:
        frames: uint8 array of shape (T, H, W, 3), RGB.
        timestamps: float64 array of shape (T,): presentation time of each frame in seconds,
            relative to the start of the clip.
        duration: Duration of the clip in seconds.
        source_fps: Average frame rate of the source stream.
        backend: The decoder that produced the frames (``decord`` or ``pyav``), empty when the
            clip was not decoded from a file.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    duration: float
    source_fps: float
    backend: str = ""

    def __len__(self) -> int:
        return int(self.frames.shape[0])
