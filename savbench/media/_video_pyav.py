"""Video through PyAV: the stream's facts, and decoding only the frames that are asked for.

Nothing here walks the whole file when the container has an index: the end of the stream is
found by seeking to the last keyframe, and each requested time is reached by seeking to the
keyframe before it and decoding forward. Memory holds the frames returned plus the one or two
frames in flight, whatever the length of the video.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from savbench.data import MediaRef
from savbench.media._source import ffmpeg_reason, open_container
from savbench.media._threads import decode_threads
from savbench.media._types import MediaError
from savbench.media._video_sampling import tie_tolerance

EPSILON = 1e-9
SEEK_GAP_SECONDS = 2.0  # nearer targets are reached by decoding forward, not by seeking
MAX_BAD_PACKETS = 8  # packets the decoder may reject before the file counts as corrupt
FAR_FUTURE_SECONDS = 10**7  # a seek target past the end of any video


@dataclass(frozen=True)
class VideoHeader:
    """What the decoders need to know about a video stream.

    Args:
        stream_index: Index of the video stream in the container.
        origin: Presentation time of the stream's start, in seconds; all other times are
            measured from it.
        end: When the last frame stops being shown.
        last_pts: Presentation time of the last frame.
        fps: Average frame rate.
        frames: Declared frame count, 0 when unknown.
        width: Coded width.
        height: Coded height.
        rotation: FFmpeg display-matrix angle (degrees counterclockwise), 0 when none.
    """

    stream_index: int
    origin: float
    end: float
    last_pts: float
    fps: float
    frames: int
    width: int
    height: int
    rotation: int


def video_stream(container: Any, ref: MediaRef) -> Any:
    """The first real video stream (cover art attached to audio files does not count)."""
    import av

    for stream in container.streams.video:
        if not (stream.disposition & av.stream.Disposition.attached_pic):
            return stream
    kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
    art = " besides cover art" if container.streams.video else ""
    raise MediaError(ref.name, "video", f"no video stream in the file{art} (its streams: {kinds})")


def stream_at(container: Any, index: int) -> Any:
    """The stream with container-wide index ``index``."""
    return next(s for s in container.streams if s.index == index)


def decoded_frames(
    name: str, container: Any, stream: Any, origin: float, fps: float
) -> Iterator[tuple[float, Any]]:
    """(time, frame) in presentation order from the container's current position.

    A few packets the decoder rejects are skipped, as players do; a damaged container ends
    the stream where the damage starts.
    """
    import av

    base = float(stream.time_base)
    packets = container.demux(stream)
    bad = 0
    last: float | None = None
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError:
            return
        try:
            frames = stream.decode(packet)
        except av.error.FFmpegError as exc:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise MediaError(
                    name, "video", f"corrupt video data: {bad} packets rejected ({ffmpeg_reason(exc)})"
                ) from None
            continue
        for frame in frames:
            if frame.pts is not None:
                time = frame.pts * base - origin
            else:
                time = 0.0 if last is None else last + 1.0 / (fps or 25.0)
            last = time
            yield time, frame


def read_header(ref: MediaRef) -> VideoHeader:
    """Read a video stream's timing, size and rotation: one frame decoded, one GOP demuxed.

    Raises:
        MediaError: Not a media file, no video stream, no decodable frame, or truncated.
    """
    with open_container(ref, "video") as container:
        stream = video_stream(container, ref)
        base = float(stream.time_base)
        rate = float(stream.average_rate or stream.guessed_rate or 0.0)
        origin = float(stream.start_time * base) if stream.start_time is not None else None
        first = next(decoded_frames(ref.name, container, stream, origin or 0.0, rate), None)
        if first is None:
            raise MediaError(
                ref.name, "video", "no decodable video frame (empty, damaged or truncated stream)"
            )
        frame = first[1]
        if origin is None:
            origin = float(frame.pts * base) if frame.pts is not None else 0.0
        rotation = int(round(frame.rotation or 0))
        declared = float(stream.duration * base) if stream.duration else None
        width, height, count, index = frame.width, frame.height, int(stream.frames or 0), stream.index
        tail = _tail(container, stream, origin, declared)
    if tail is None:
        tail = _scan_all(ref, index, origin)
    last_pts, end = tail
    if declared is not None and end < declared - max(0.5, 2.0 / (rate or 25.0)):
        raise MediaError(
            ref.name,
            "video",
            f"truncated video: the stream declares {declared:.3f} s but its frames stop at {end:.3f} s",
        )
    if end - last_pts <= EPSILON:
        end = last_pts + 1.0 / (rate or 25.0)
    if not rate:
        rate = count / end if count and end > 0 else 25.0
    return VideoHeader(index, origin, end, last_pts, rate, count, width, height, rotation)


def _tail(container: Any, stream: Any, origin: float, declared: float | None) -> tuple[float, float] | None:
    """(last pts, end) from the packets after the last keyframe; None if seeking fails."""
    import av

    base = float(stream.time_base)
    target = origin + (declared or 0.0) + FAR_FUTURE_SECONDS
    try:
        container.seek(int(target / base), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    return _packet_span(container, stream, origin)


def _scan_all(ref: MediaRef, index: int, origin: float) -> tuple[float, float]:
    """(last pts, end) by demuxing the whole stream: for files that cannot seek."""
    with open_container(ref, "video") as container:
        span = _packet_span(container, stream_at(container, index), origin)
    if span is None:
        raise MediaError(ref.name, "video", "no video packets (empty or truncated stream)")
    return span


def _packet_span(container: Any, stream: Any, origin: float) -> tuple[float, float] | None:
    import av

    base = float(stream.time_base)
    last_pts: float | None = None
    end = -math.inf
    try:
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            pts = packet.pts * base - origin
            last_pts = pts if last_pts is None else max(last_pts, pts)
            end = max(end, pts + (packet.duration or 0) * base)
    except av.error.FFmpegError:
        pass  # damage at the end: the packets read so far tell where the stream stops
    if last_pts is None:
        return None
    return last_pts, max(end, last_pts)


def decode_pyav(
    ref: MediaRef, header: VideoHeader, times: np.ndarray, convert: Callable[[np.ndarray], np.ndarray]
) -> tuple[list[np.ndarray], list[float]]:
    """The frames on screen at ``times`` (ascending, stream clock), each once, converted.

    Raises:
        MediaError: The frames stop before the stream's declared end (damaged data).
    """
    import av

    images: list[np.ndarray] = []
    stamps: list[float] = []
    with open_container(ref, "video") as container:
        stream = stream_at(container, header.stream_index)
        threads = decode_threads()
        stream.codec_context.thread_count = threads
        if threads > 1:
            stream.thread_type = "AUTO"
        base = float(stream.time_base)
        frames: Iterator[tuple[float, Any]] | None = None
        seeking = True
        previous: tuple[float, Any] | None = None  # last decoded frame at or before the target
        upcoming: tuple[float, Any] | None = None  # first decoded frame after it
        for time in times:
            reached = (upcoming or previous or (-math.inf, None))[0]
            if frames is None and time <= SEEK_GAP_SECONDS:
                frames = decoded_frames(ref.name, container, stream, header.origin, header.fps)
            elif frames is None or (seeking and time - reached > SEEK_GAP_SECONDS):
                try:
                    container.seek(int((time + header.origin) / base), stream=stream, backward=True)
                except av.error.FFmpegError:
                    seeking = False  # keep decoding forward from where we are
                    if frames is None:
                        frames = decoded_frames(ref.name, container, stream, header.origin, header.fps)
                else:
                    frames = decoded_frames(ref.name, container, stream, header.origin, header.fps)
                    previous, upcoming = None, next(frames, None)
                    if upcoming is not None and upcoming[0] <= reached:
                        seeking = False  # keyframes are far apart: decode forward from here on
            tolerance = tie_tolerance(time)
            if upcoming is not None and upcoming[0] <= time + tolerance:
                previous, upcoming = upcoming, None
            while upcoming is None:
                item = next(frames, None)
                if item is None:
                    break
                if item[0] <= time + tolerance:
                    previous = item
                else:
                    upcoming = item
            chosen = previous if previous is not None else upcoming
            if chosen is None or (
                upcoming is None and chosen[0] < header.last_pts - max(1.0, 4.0 / header.fps)
            ):
                stop = f"{chosen[0]:.3f} s" if chosen is not None else "the seek point"
                raise MediaError(
                    ref.name,
                    "video",
                    f"damaged or truncated video: frames stop at {stop} but the stream lasts {header.end:.3f} s",
                )
            if not stamps or chosen[0] != stamps[-1]:
                images.append(convert(chosen[1].to_ndarray(format="rgb24")))
                stamps.append(chosen[0])
    return images, stamps
