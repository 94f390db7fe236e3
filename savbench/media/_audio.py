"""Audio decoding: any file or container audio track to mono float32 at the requested rate.

soundfile (libsndfile) reads wav, flac, ogg and mp3 directly; anything else, and the audio
track of video containers, goes through PyAV in a single pass that decodes no video. Every
path then shares one downmix (mean of channels) and one resampler (torchaudio's windowed
sinc), so the same sound gives the same samples whatever file it came in.
"""

from __future__ import annotations

import numpy as np

from savbench.media._source import MediaLike, as_ref, check_readable, open_binary
from savbench.media._types import MediaError


def _read_soundfile(ref, start: float | None, end: float | None) -> tuple[np.ndarray, int] | None:
    import soundfile as sf

    source = open_binary(ref)
    try:
        with sf.SoundFile(source) as handle:
            rate = handle.samplerate
            first = int(round((start or 0.0) * rate))
            last = int(round(end * rate)) if end is not None else handle.frames
            if first > 0:
                handle.seek(min(first, handle.frames))
            data = handle.read(max(0, last - first), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None  # not a format libsndfile knows, or a truncated header: PyAV decides
    return data, rate


def _read_pyav(ref, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    import av

    source = open_binary(ref)
    try:
        container = av.open(source, mode="r")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError) as exc:
        raise MediaError(
            ref.name, "audio", f"not a readable media file ({type(exc).__name__}: {exc})"
        ) from None
    with container:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
            raise MediaError(ref.name, "audio", f"no audio track in the file (it holds: {kinds})")
        stream = container.streams.audio[0]
        stream.thread_type = "NONE"
        rate = stream.codec_context.sample_rate or stream.rate
        if not rate:
            raise MediaError(ref.name, "audio", "the audio track declares no sample rate")
        if start:
            container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        try:
            for frame in container.decode(stream):
                array = frame.to_ndarray()
                if array.ndim == 1:
                    array = array[None, :]
                if frame.format.is_planar:
                    data = array.astype(np.float32, copy=False)
                else:
                    data = array.reshape(-1, len(frame.layout.channels)).T.astype(np.float32, copy=False)
                data = _to_float(data, frame.format.name)
                if first_time is None:
                    first_time = float(frame.time) if frame.time is not None else 0.0
                chunks.append(data)
                if end is not None and frame.time is not None and frame.time > end:
                    break
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            if not chunks:
                raise MediaError(ref.name, "audio", f"corrupt or truncated audio ({exc})") from None
        if not chunks:
            raise MediaError(ref.name, "audio", "the audio track holds no samples (zero-length)")
        audio = np.concatenate(chunks, axis=1).T
        offset = int(round(((start or 0.0) - (first_time or 0.0)) * rate))
        if offset > 0:
            audio = audio[offset:]
        if end is not None:
            audio = audio[: max(0, int(round((end - (start or 0.0)) * rate)))]
        return audio, int(rate)


def _to_float(data: np.ndarray, sample_format: str) -> np.ndarray:
    if sample_format.startswith(("s16",)):
        return data / 32768.0
    if sample_format.startswith("s32"):
        return data / 2147483648.0
    if sample_format.startswith("u8"):
        return (data - 128.0) / 128.0
    return data


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 resampling with torchaudio's band-limited sinc interpolation."""
    if source_rate == target_rate or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    import torch
    import torchaudio.functional as F

    with torch.inference_mode():
        out = F.resample(
            torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), source_rate, target_rate
        )
    return out.numpy()


def load_audio(media: MediaLike, *, sample_rate: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio to a mono float32 waveform.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes, optional start/end seconds) or a path.
        sample_rate: Output sample rate in Hz.
        max_seconds: Keep at most this many seconds (from the clip start).

    Returns:
        1-D float32 array at ``sample_rate``.

    Raises:
        MediaError: Missing, unreadable or empty file, no audio track, corrupt data, zero
            samples, or NaN/inf samples, with the file and the reason.
    """
    ref = as_ref(media)
    check_readable(ref, "audio")
    end = ref.end
    if max_seconds is not None:
        end = (
            min(end, (ref.start or 0.0) + max_seconds)
            if end is not None
            else (ref.start or 0.0) + max_seconds
        )
    decoded = _read_soundfile(ref, ref.start, end)
    if decoded is None:
        decoded = _read_pyav(ref, ref.start, end)
    data, rate = decoded
    if data.size == 0:
        raise MediaError(ref.name, "audio", "no audio samples (zero-length audio)")
    mono = data.mean(axis=1) if data.ndim == 2 else data
    if not np.isfinite(mono).all():
        raise MediaError(ref.name, "audio", "contains NaN or infinite samples")
    out = resample(mono.astype(np.float32, copy=False), rate, sample_rate)
    if max_seconds is not None:
        out = out[: int(round(max_seconds * sample_rate))]
    return np.ascontiguousarray(out, dtype=np.float32)


def is_silent(audio: np.ndarray, threshold: float = 1e-4) -> bool:
    """Whether a waveform is (near) silence: its peak stays below ``threshold``."""
    return audio.size == 0 or float(np.max(np.abs(audio))) < threshold
