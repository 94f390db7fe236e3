"""Video decoding: a fixed number of frames, or frames at a rate, with their timestamps.

Frame selection works on presentation timestamps read by demuxing (no decoding), so variable
frame rates are handled and a long video costs one pass over its packet index plus the
decoding of the chosen frames only: memory holds the frames returned, never the whole video.

Sampling rule: the clip [start, end) is cut into N equal segments and the frame shown at the
centre of each segment is taken (with ``fps``, segment length 1/fps, capped at ``max_frames``
by spreading the centres uniformly). Several centres can land on the same frame of a short
or low-frame-rate video; each frame is returned once, so fewer than N frames can come back
(a 1-frame video gives exactly one frame).

decord decodes the chosen frames when it is installed and the file is on disk; PyAV does it
otherwise, and also whenever decord fails, the container looks truncated, or the stream
carries a rotation (which PyAV applies and decord ignores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from savbench.media._source import MediaLike, as_ref, check_readable, open_binary
from savbench.media._types import MediaError, VideoClip

BACKENDS = ("decord", "pyav")
SEEK_GAP_SECONDS = 2.0


@dataclass
class _Index:
    pts: np.ndarray  # seconds, sorted, one per frame
    duration: float
    fps: float
    rotation: int
    truncated: bool


def _open(ref):
    import av

    try:
        return av.open(open_binary(ref), mode="r")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError) as exc:
        raise MediaError(
            ref.name, "video", f"not a readable media file ({type(exc).__name__}: {exc})"
        ) from None


def _scan(ref) -> _Index:
    """Presentation times of every frame, from the packet index (no decoding)."""
    import av

    with _open(ref) as container:
        if not container.streams.video:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
            raise MediaError(ref.name, "video", f"no video stream in the file (it holds: {kinds})")
        stream = container.streams.video[0]
        base = float(stream.time_base)
        offset = float(stream.start_time * base) if stream.start_time is not None else 0.0
        times: list[float] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    times.append(packet.pts * base - offset)
        except (av.error.InvalidDataError, av.error.FFmpegError):
            pass  # keep what was indexed before the damage
        if not times:
            raise MediaError(ref.name, "video", "no video frames (empty or truncated stream)")
        pts = np.unique(np.asarray(times, dtype=np.float64))
        declared = float(container.duration / 1_000_000) if container.duration else None
        step = float(np.median(np.diff(pts))) if len(pts) > 1 else (1.0 / float(stream.average_rate or 25))
        duration = float(pts[-1] + step)
        truncated = declared is not None and declared > duration + max(1.0, 0.1 * declared)
        fps = float(stream.average_rate) if stream.average_rate else (1.0 / step if step > 0 else 0.0)
        rotation = 0
        try:
            container.seek(0)
            for frame in container.decode(stream):
                rotation = int(getattr(frame, "rotation", 0) or 0)
                break
        except (av.error.InvalidDataError, av.error.FFmpegError):
            truncated = True
    return _Index(pts=pts, duration=duration, fps=fps, rotation=rotation, truncated=truncated)


def select_frames(
    pts: np.ndarray,
    duration: float,
    *,
    start: float | None = None,
    end: float | None = None,
    num_frames: int | None = None,
    fps: float | None = None,
    max_frames: int = 64,
) -> tuple[np.ndarray, float, float]:
    """Indices of the frames to decode (sorted, unique), and the clip's start and end times."""
    clip_start = max(0.0, start or 0.0)
    clip_end = min(duration, end) if end is not None else duration
    if clip_end <= clip_start:
        raise ValueError(
            f"the clip {clip_start:.3f}-{clip_end:.3f} s is empty (video lasts {duration:.3f} s)"
        )
    length = clip_end - clip_start
    if fps is not None:
        count = max(1, math.floor(length * fps + 1e-9))
        centres = clip_start + (np.arange(count) + 0.5) / fps
        if count > max_frames:
            centres = clip_start + (np.arange(max_frames) + 0.5) * length / max_frames
    else:
        count = num_frames or 8
        centres = clip_start + (np.arange(count) + 0.5) * length / count
    index = np.searchsorted(pts, centres, side="right") - 1
    first_in_clip = int(np.searchsorted(pts, clip_start - 1e-6, side="left"))
    index = np.clip(index, min(first_in_clip, len(pts) - 1), len(pts) - 1)
    return np.unique(index), clip_start, clip_end


def _resize(frames: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or len(frames) == 0:
        return frames
    from PIL import Image

    height, width = frames.shape[1:3]
    scale = size / min(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack([np.asarray(Image.fromarray(f).resize(new, Image.BICUBIC)) for f in frames])


def _rotate(frames: np.ndarray, rotation: int) -> np.ndarray:
    turns = (round(rotation / 90) % 4) if rotation else 0
    return np.rot90(frames, k=turns, axes=(1, 2)).copy() if turns else frames


def _decode_decord(path: str, index: np.ndarray) -> np.ndarray:
    import decord

    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    if int(index.max()) >= len(reader):
        raise IndexError("decord sees fewer frames than the container index")
    return reader.get_batch(index.tolist()).asnumpy()


def _decode_pyav(ref, targets: np.ndarray) -> np.ndarray:
    """Decode the frames shown at ``targets`` (seconds), seeking across long gaps."""
    import av

    frames: list[np.ndarray] = []
    with _open(ref) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        base = float(stream.time_base)
        offset = float(stream.start_time * base) if stream.start_time is not None else 0.0
        position = -math.inf
        pending = list(targets)
        decoder = None
        previous = None
        while pending:
            target = pending[0]
            if decoder is None or target - position > SEEK_GAP_SECONDS:
                container.seek(int((target + offset) / base), stream=stream, backward=True, any_frame=False)
                decoder = container.decode(stream)
                previous = None
            try:
                frame = next(decoder)
            except StopIteration:
                break
            except (av.error.InvalidDataError, av.error.FFmpegError):
                continue  # a damaged packet: try the next one
            position = float(frame.pts * base - offset) if frame.pts is not None else position
            if position + 1e-6 >= target:
                chosen = frame if position - target < 1e-6 or previous is None else previous
                image = chosen.to_ndarray(format="rgb24")
                while pending and pending[0] <= position + 1e-6:
                    frames.append(image)
                    pending.pop(0)
            previous = frame
    if not frames:
        raise MediaError(ref.name, "video", "no frame could be decoded (corrupt or truncated video)")
    return np.stack(frames)


def load_video(
    media: MediaLike,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    max_frames: int = 64,
    size: int | None = None,
    backend: str | None = None,
) -> VideoClip:
    """Sample frames from a video.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes, optional start/end seconds) or a path.
        num_frames: Frames sampled uniformly over the clip (default 8 when ``fps`` is not given).
        fps: Sample at this rate instead, at most ``max_frames`` frames.
        max_frames: Cap for ``fps`` sampling.
        size: Resize so the shorter side has this many pixels.
        backend: ``decord`` or ``pyav``; default: decord when available, PyAV otherwise.

    Returns:
        Frames (T, H, W, 3) uint8 RGB with their timestamps relative to the clip start.

    Raises:
        MediaError: Missing, unreadable or empty file, no video stream, an empty clip, or no
            decodable frame, with the file and the reason.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if num_frames is not None and fps is not None:
        raise ValueError("give either num_frames or fps, not both")
    ref = as_ref(media)
    check_readable(ref, "video")
    index = _scan(ref)
    try:
        chosen, clip_start, clip_end = select_frames(
            index.pts,
            index.duration,
            start=ref.start,
            end=ref.end,
            num_frames=num_frames,
            fps=fps,
            max_frames=max_frames,
        )
    except ValueError as exc:
        raise MediaError(ref.name, "video", str(exc)) from None
    times = index.pts[chosen]
    use_decord = (
        backend != "pyav"
        and ref.path is not None
        and not index.truncated
        and index.rotation == 0
        and _have_decord()
    )
    frames = None
    if use_decord:
        try:
            frames = _decode_decord(ref.path, chosen)  # type: ignore[arg-type]
        except Exception:  # decord has many failure modes; PyAV is the reference decoder
            frames = None
    if frames is None:
        frames = _decode_pyav(ref, times)
        times = times[: len(frames)]
    frames = _resize(_rotate(frames, index.rotation), size)
    return VideoClip(
        frames=np.ascontiguousarray(frames, dtype=np.uint8),
        timestamps=(times - clip_start).astype(np.float64),
        duration=float(clip_end - clip_start),
        source_fps=index.fps,
    )


def _have_decord() -> bool:
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True
