"""Audio through PyAV: any container FFmpeg reads, including the audio track of a video.

Only the audio stream is decoded (video packets are demuxed and dropped), so the audio of an
mp4 costs one pass over the file and no video decoding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savbench.data import MediaRef
from savbench.media._resample import downmix
from savbench.media._source import ffmpeg_reason, open_container, read_head
from savbench.media._threads import decode_threads
from savbench.media._types import MediaError

# Integer sample formats: (offset, scale) to map them onto [-1, 1).
_INT_FORMATS = {"u8": (128.0, 128.0), "s16": (0.0, 32768.0), "s32": (0.0, 2.0**31), "s64": (0.0, 2.0**63)}
# A decoded track may end this much before its declared length without being called truncated
# (codec priming and padding, rounding of declared durations).
_SHORTFALL_SECONDS = 0.1
_SHORTFALL_FRACTION = 0.01
# Containers whose declared track length is exact (an index or header count); others (raw
# ADTS, mp3 without a Xing header) estimate it from the bitrate, which proves nothing.
_EXACT_LENGTH_FORMATS = {"mov", "mp4", "m4a", "flac", "wav", "w64", "aiff", "caf", "avi"}
# Containers where a seek gives sample-exact timestamps. Elsewhere a clip is cut by decoding
# from the start and dropping what comes before it: after a seek, Opus in Matroska/WebM came
# out 8 ms early and raw ADTS AAC 64 ms early.
_EXACT_SEEK_FORMATS = {"mov", "mp4", "m4a", "ogg", "mp3", "flac", "wav"}
# Decoding starts this long before a clip so that the decoder has settled (an mp3 frame leans
# on the bytes of the ones before it; AAC and Opus overlap frames) when the clip begins.
PREROLL_SECONDS = 0.5


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

    Times are measured from the track's first decoded sample.

    Raises:
        MediaError: Not a media file, no audio track, damaged or truncated data.
    """
    decoded = _read(ref, start, end, seek=start > 0)
    if decoded is None:  # the seek failed or landed after the clip start: decode from the top
        decoded = _read(ref, start, end, seek=False)
    if decoded is None:  # cannot happen: without a seek the first frame is time zero
        raise MediaError(ref.name, "audio", "the audio track could not be positioned")
    return decoded


def _has_vbr_header(ref: MediaRef) -> bool:
    """Whether an mp3 states its exact length (a Xing, Info or VBRI header in its first frame)
    rather than leaving FFmpeg to estimate it from the bitrate."""
    head = read_head(ref, 1 << 16)
    offset = 0
    if head[:3] == b"ID3" and len(head) >= 10:  # skip the ID3v2 tag: its size is 4 x 7 bits
        offset = 10 + sum((head[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))
        if offset + 200 > len(head):
            head = read_head(ref, offset + 200)
    frame = head[offset : offset + 200]
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def _first_sample_time(container: Any, stream: Any, base: float) -> float:
    """Presentation time of the first decoded audio frame (0 when the stream has none)."""
    import av

    try:
        for frame in container.decode(stream):
            if frame.samples and frame.pts is not None:
                return float(frame.pts * base)
    except av.error.FFmpegError:
        pass  # decoding proper reports the damage
    return 0.0


def _read(
    ref: MediaRef, start: float, end: float | None, seek: bool
) -> tuple[np.ndarray, int, float | None] | None:
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
        declared = float(stream.duration * base) if stream.duration else None
        formats = set(container.format.name.split(","))
        exact = bool(formats & _EXACT_LENGTH_FORMATS) or ("mp3" in formats and _has_vbr_header(ref))
        # Time zero is the first sample the decoder gives (codec delay such as AAC priming or
        # Opus pre-skip is trimmed there), whatever start time the container declares.
        origin: float | None = None
        if seek and formats & _EXACT_SEEK_FORMATS:
            origin = _first_sample_time(container, stream, base)
            try:
                target = origin + max(0.0, start - PREROLL_SECONDS)
                container.seek(int(target / base), stream=stream, backward=True)
            except av.error.FFmpegError:
                return None  # not seekable: decode from the beginning in a fresh container
        chunks: list[np.ndarray] = []
        first_time: float | None = None  # of the first decoded frame, from time zero
        decoded = 0  # samples decoded since first_time
        dropped = 0  # of which were before the clip and not kept
        position = 0.0  # end time of the decoded samples
        try:
            for frame in container.decode(stream):
                if frame.samples == 0:
                    continue
                pts = float(frame.pts * base) if frame.pts is not None else None
                if first_time is None:
                    if origin is None:
                        origin = pts or 0.0
                    first_time = pts - origin if pts is not None else 0.0
                    if first_time > start + 0.5 / rate:
                        return None  # the seek landed after the clip start
                decoded += frame.samples
                position = first_time + decoded / rate
                if position <= start and not chunks:
                    dropped += frame.samples  # wholly before the clip: not kept
                    continue
                chunks.append(downmix(frame_to_float(frame)))
                if end is not None and position >= end:
                    break
        except av.error.FFmpegError as exc:
            at = f" after {position:.2f} s" if decoded else ""
            raise MediaError(
                ref.name, "audio", f"corrupt or truncated audio data{at} ({ffmpeg_reason(exc)})"
            ) from None
    mono = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    wanted_end = end if end is not None else declared
    if exact and declared is not None and wanted_end is not None:
        wanted_end = min(wanted_end, declared)
        if position < wanted_end - (_SHORTFALL_SECONDS + _SHORTFALL_FRACTION * declared):
            raise MediaError(
                ref.name,
                "audio",
                f"truncated audio track: it declares {declared:.3f} s but the data ends at {position:.3f} s",
            )
    skip = int(round((start - (first_time or 0.0)) * rate)) - dropped
    if skip > 0:
        mono = mono[skip:]
    if end is not None:
        mono = mono[: max(0, int(round((end - start) * rate)))]
    return mono, rate, declared if declared is not None else position
