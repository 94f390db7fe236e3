"""Audio through PyAV: any container FFmpeg reads, including the audio track of a video.

Only the audio stream is decoded (video packets are demuxed and dropped), so the audio of an
mp4 costs one pass over the file and no video decoding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savbench.data import MediaRef
from savbench.media._resample import downmix
from savbench.media._source import ffmpeg_reason, open_container
from savbench.media._threads import decode_threads
from savbench.media._types import MediaError

# Integer sample formats: (offset, scale) to map them onto [-1, 1).
_INT_FORMATS = {"u8": (128.0, 128.0), "s16": (0.0, 32768.0), "s32": (0.0, 2.0**31), "s64": (0.0, 2.0**63)}
# A decoded track may end this much before its declared length without being called truncated
# (codec priming and padding, rounding of declared durations).
_SHORTFALL_SECONDS = 0.1
_SHORTFALL_FRACTION = 0.01


def frame_to_float(frame: Any) -> np.ndarray:
    """An AudioFrame as float32 (samples, channels) in [-1, 1)."""
    array = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = array.T if frame.format.is_planar else array.reshape(-1, channels)
    name = frame.format.name.rstrip("p")
    if name in _INT_FORMATS:
        offset, scale = _INT_FORMATS[name]
        return ((data.astype(np.float64) - offset) / scale).astype(np.float32)
    return data.astype(np.float32, copy=False)


def read_pyav(ref: MediaRef, start: float, end: float | None) -> tuple[np.ndarray, int, float | None]:
    """Mono float32 samples of [start, end) of the first audio track, their rate, and the
    track's declared duration (None when the container does not say).

    Times are measured from the start of the audio track.

    Raises:
        MediaError: Not a media file, no audio track, damaged or truncated data.
    """
    import av

    with open_container(ref, "audio") as container:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise MediaError(ref.name, "audio", f"no audio track in the container (its streams: {kinds})")
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = decode_threads()
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if rate <= 0:
            raise MediaError(ref.name, "audio", "the audio track declares no sample rate")
        base = float(stream.time_base) if stream.time_base else 1.0 / rate
        origin = float(stream.start_time * base) if stream.start_time is not None else 0.0
        declared = float(stream.duration * base) if stream.duration else None
        if start > 0:
            try:
                container.seek(int((origin + start) / base), stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                pass  # not seekable: decoding from the beginning gives the same samples, slower
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        decoded = 0
        position = 0.0  # end time of the decoded samples
        try:
            for frame in container.decode(stream):
                if frame.samples == 0:
                    continue
                frame_time = float(frame.pts * base) - origin if frame.pts is not None else position
                if first_time is None:
                    first_time = frame_time
                chunks.append(downmix(frame_to_float(frame)))
                decoded += len(chunks[-1])
                position = first_time + decoded / rate
                if end is not None and position >= end:
                    break
        except av.error.FFmpegError as exc:
            at = f" after {position:.2f} s" if chunks else ""
            raise MediaError(
                ref.name, "audio", f"corrupt or truncated audio data{at} ({ffmpeg_reason(exc)})"
            ) from None
    mono = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    first_time = first_time or 0.0
    wanted_end = end if end is not None else declared
    if declared is not None and wanted_end is not None:
        wanted_end = min(wanted_end, declared)
        if position < wanted_end - (_SHORTFALL_SECONDS + _SHORTFALL_FRACTION * declared):
            raise MediaError(
                ref.name,
                "audio",
                f"truncated audio track: it declares {declared:.3f} s but the data ends at {position:.3f} s",
            )
    skip = int(round((start - first_time) * rate))
    if skip > 0:
        mono = mono[skip:]
    if end is not None:
        mono = mono[: max(0, int(round((end - start) * rate)))]
    return mono, rate, declared if declared is not None else position
