"""Per-frame finishing shared by the video decoders: display rotation, then resizing."""

from __future__ import annotations

import numpy as np


def rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation to an (H, W, 3) frame.

    Args:
        frame: The frame as decoded.
        rotation: FFmpeg's display-matrix angle: degrees the frame must be turned
            counterclockwise to be shown upright (a phone's "rotate=90" tag gives -90).
    """
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(frame, k=turns)) if turns else frame


def resize_shorter(frame: np.ndarray, size: int | None) -> np.ndarray:
    """Resize an (H, W, 3) uint8 frame so its shorter side is ``size`` pixels (bicubic)."""
    if size is None:
        return frame
    height, width = frame.shape[:2]
    scale = size / min(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new == (width, height):
        return frame
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize(new, Image.Resampling.BICUBIC))


def finish(frame: np.ndarray, rotation: int, size: int | None) -> np.ndarray:
    """Rotate then resize one frame."""
    return resize_shorter(rotate(frame, rotation), size)
