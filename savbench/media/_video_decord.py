"""Video through decord: fast batched decoding of chosen frames from files on disk.

decord builds its own frame index (one demux pass over the file) and reports each frame's
presentation time measured from the stream start, the same clock PyAV gives. Its output is
checked against the PyAV header before it is trusted; any mismatch or error sends the caller
back to PyAV.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from savbench.media._threads import decode_threads
from savbench.media._video_pyav import VideoHeader
from savbench.media._video_sampling import frames_on_screen

BATCH = 8  # frames decoded per decord call: bounds the full-size frames held at once


class DecordMismatch(RuntimeError):
    """decord sees the file differently from FFmpeg's headers; its frames are not used."""


def have_decord() -> bool:
    """Whether decord can be imported."""
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def decode_decord(
    path: str, header: VideoHeader, times: np.ndarray, convert: Callable[[np.ndarray], np.ndarray]
) -> tuple[list[np.ndarray], list[float]]:
    """The frames on screen at ``times`` (ascending, stream clock), each once, converted.

    Raises:
        DecordMismatch: decord's frame count, timestamps or frame size disagree with the header.
        Exception: Whatever decord raises; callers fall back to PyAV.
    """
    import decord

    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=decode_threads())
    count = len(reader)
    if count == 0:
        raise DecordMismatch("decord found no frames")
    if header.frames and abs(count - header.frames) > max(2, 0.01 * header.frames):
        raise DecordMismatch(f"decord counts {count} frames, the container declares {header.frames}")
    pts = np.asarray(reader.get_frame_timestamp(np.arange(count))[:, 0], dtype=np.float64)
    if np.any(np.diff(pts) < 0) or pts[-1] > header.end + 1.0:
        raise DecordMismatch("decord's frame timestamps are out of order or past the stream end")
    chosen = frames_on_screen(pts, times)
    images: list[np.ndarray] = []
    for begin in range(0, len(chosen), BATCH):
        batch = reader.get_batch(chosen[begin : begin + BATCH].tolist()).asnumpy()
        if batch.shape[1:3] != (header.height, header.width):
            raise DecordMismatch(
                f"decord frames are {batch.shape[2]}x{batch.shape[1]}, the stream is {header.width}x{header.height}"
            )
        images.extend(convert(frame) for frame in batch)
    return images, pts[chosen].tolist()
