"""Which moments of a clip to show a model, and which frame is on screen at each.

Both decoders follow these rules, so they pick the same frames:

* ``num_frames=N``: cut the clip into N equal segments and sample the centre of each, i.e.
  times ``(k + 0.5) * length / N`` for k = 0..N-1.
* ``fps=r``: one sample every 1/r seconds at the centres ``(k + 0.5) / r`` of the
  ``floor(length * r)`` whole periods in the clip (one sample at the middle of a clip shorter
  than a period); more than ``max_frames`` samples become ``max_frames`` uniform centres.
* neither: ``max_frames`` uniform centres.
* The frame for a time ``t`` is the frame on screen at ``t``: the last one whose presentation
  timestamp is <= t (the first frame when t precedes every frame). This uses the stream's
  timestamps, so it holds for variable frame rates. A timestamp within ``tie_tolerance(t)``
  after t counts as <= t: sample times often fall exactly on frame boundaries, and decord
  reports timestamps in single precision.
* A frame on screen at several sampled times is returned once, so a clip with fewer distinct
  frames than samples (a 1-frame video, a frame held for seconds) yields fewer frames.
"""

from __future__ import annotations

import math

import numpy as np


def sample_times(
    length: float, *, num_frames: int | None = None, fps: float | None = None, max_frames: int = 64
) -> np.ndarray:
    """Sample times in seconds from the clip start, ascending.

    Args:
        length: Clip length in seconds (> 0).
        num_frames: Number of uniform samples (segment centres).
        fps: Sampling rate instead of a count.
        max_frames: Cap on the count for ``fps`` sampling, and the count when neither is given.
    """
    if length <= 0:
        raise ValueError(f"clip length must be positive, got {length}")
    check_sampling(num_frames=num_frames, fps=fps, max_frames=max_frames)
    if fps is not None:
        periods = math.floor(length * fps + 1e-9)
        if periods < 1:
            return np.array([length / 2])
        if periods <= max_frames:
            return (np.arange(periods) + 0.5) / fps
        count = max_frames
    else:
        count = num_frames if num_frames is not None else max_frames
    return (np.arange(count) + 0.5) * (length / count)


def check_sampling(*, num_frames: int | None, fps: float | None, max_frames: int) -> None:
    """Raise ValueError for sampling settings that cannot be followed."""
    if num_frames is not None and fps is not None:
        raise ValueError("give either num_frames or fps, not both")
    if num_frames is not None and num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")


def tie_tolerance(time: np.ndarray | float) -> np.ndarray | float:
    """How far after ``time`` a frame timestamp may be and still count as at ``time``: above
    single-precision rounding (decord), far below any frame interval."""
    return 1e-6 + 3e-7 * np.abs(time)


def frames_on_screen(pts: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Indices (ascending, unique) of the frames shown at ``times``.

    Args:
        pts: Presentation time of every frame, ascending.
        times: Query times on the same clock.
    """
    index = np.searchsorted(pts, times + tie_tolerance(times), side="right") - 1
    return np.unique(np.clip(index, 0, len(pts) - 1))
