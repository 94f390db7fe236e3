"""Video decoding: frames sampled from a clip, with their timestamps.

The sampling rules are in ``_video_sampling``: segment centres for ``num_frames``, period
centres for ``fps``, and the frame on screen at each sampled time by presentation timestamp.

Backends: by default decord decodes when it is installed, the file is on disk, the video
lasts at most ``DECORD_MAX_SECONDS`` and the stream has no display rotation; PyAV decodes
otherwise, and whenever decord raises or disagrees with the container's headers. Why the
limits: decord reads the whole file to build its frame index before the first frame, and its
end-of-file retries are known to run away on long videos, while PyAV seeks from the
container's index; decord turns 90-degree videos itself but mangles 180-degree ones. The
``SAVBENCH_VIDEO_BACKEND`` environment variable (``decord`` or ``pyav``) sets the default.
Either way only the chosen frames are decoded and kept, so memory does not grow with the
length of the video. Rotation metadata is applied: frames come out upright, as a player
shows them.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from savbench.media._frames import finish
from savbench.media._source import MediaLike, as_ref, check_readable, check_window
from savbench.media._types import MediaError, VideoClip
from savbench.media._video_decord import decode_decord, have_decord
from savbench.media._video_pyav import decode_pyav, read_header
from savbench.media._video_sampling import check_sampling, sample_times

BACKENDS = ("decord", "pyav")
DECORD_MAX_SECONDS = 1800.0
log = logging.getLogger(__name__)


def load_video(
    media: MediaLike,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    max_frames: int = 64,
    size: int | None = None,
    backend: str | None = None,
) -> VideoClip:
    """Sample frames from a video clip.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes, optional ``start``/``end``
            in seconds from the start of the video stream) or a path.
        num_frames: Sample this many frames uniformly: the clip is cut into ``num_frames``
            equal segments and the frame on screen at the centre of each is taken.
        fps: Sample at this rate instead (centres of successive 1/fps periods), at most
            ``max_frames`` frames (spread uniformly over the clip when there would be more).
        max_frames: Cap for ``fps`` sampling, and the number of uniform samples when neither
            ``num_frames`` nor ``fps`` is given.
        size: Resize so the shorter side has this many pixels (bicubic); None keeps the size.
        backend: ``"decord"`` or ``"pyav"`` to force a decoder (decord still falls back to
            PyAV when it fails or the stream is rotated); None: ``SAVBENCH_VIDEO_BACKEND`` if
            set, else decord for videos up to ``DECORD_MAX_SECONDS``, PyAV for longer ones.

    Returns:
        A :class:`VideoClip`: frames (T, H, W, 3) uint8 RGB, upright; ``timestamps[i]`` is
        when frame i comes on screen, in seconds from the clip start (0 for a frame that was
        already showing when the clip starts). A frame is returned once even when several
        sampled times fall on it, so T = min(samples, distinct frames at those times): a
        1-frame video gives one frame.

    Raises:
        MediaError: Missing, unreadable or empty file; not a media file; no video stream; a
            clip outside the video; truncated or corrupt data. The error names the file and
            the reason.
    """
    forced = backend or os.environ.get("SAVBENCH_VIDEO_BACKEND") or None
    if forced is not None and forced not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {forced!r}")
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    check_sampling(num_frames=num_frames, fps=fps, max_frames=max_frames)
    ref = as_ref(media)
    check_readable(ref, "video")
    start, end = check_window(ref, "video")
    header = read_header(ref)
    if start >= header.end:
        raise MediaError(
            ref.name, "video", f"the clip starts at {start:g} s but the video lasts {header.end:.3f} s"
        )
    clip_end = header.end if end is None else min(end, header.end)
    times = start + sample_times(clip_end - start, num_frames=num_frames, fps=fps, max_frames=max_frames)

    def convert(frame: np.ndarray) -> np.ndarray:
        return finish(frame, header.rotation, size)

    decoded = None
    used = "pyav"
    wants_decord = forced == "decord" or (forced is None and header.end <= DECORD_MAX_SECONDS)
    if wants_decord and ref.path is not None and header.rotation == 0 and have_decord():
        try:
            decoded = decode_decord(ref.path, header, times, convert)
            used = "decord"
        except Exception as exc:  # decord fails in many ways; PyAV is the reference decoder
            log.info("decord could not decode %s (%s); using PyAV", ref.name, exc)
    if decoded is None:
        decoded = decode_pyav(ref, header, times, convert)
    images, stamps = decoded
    return VideoClip(
        frames=np.ascontiguousarray(np.stack(images), dtype=np.uint8),
        timestamps=np.round(np.maximum(np.asarray(stamps, dtype=np.float64) - start, 0.0), 6),
        duration=float(clip_end - start),
        source_fps=float(header.fps),
        backend=used,
    )
