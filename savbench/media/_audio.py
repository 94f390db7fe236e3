"""Audio decoding: any audio file or container audio track to mono float32 at a fixed rate.

libsndfile (through soundfile) reads wav, flac, ogg and aiff itself and recognises them by their
content, whatever the extension says. Everything else, mp3 and the audio track of mp4, mkv,
webm and avi files included, goes through PyAV. Both paths share one downmix (mean of the channels) and
one resampler (torchaudio's windowed sinc), so the same sound gives the same samples whatever
file it came in.
"""

from __future__ import annotations

import numpy as np

from savbench.media._audio_pyav import read_pyav
from savbench.media._audio_sndfile import read_sndfile
from savbench.media._resample import resample
from savbench.media._source import MediaLike, as_ref, check_readable, check_window
from savbench.media._types import MediaError


def load_audio(media: MediaLike, *, sample_rate: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio to a mono float32 waveform.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes, optional ``start``/``end`` in
            seconds from the start of the audio) or a path.
        sample_rate: Output sample rate in Hz.
        max_seconds: Keep at most this many seconds from the clip start (for models with a cap);
            the rest is not decoded.

    Returns:
        1-D float32 array at ``sample_rate``. Silence (all zeros) is returned as is; see
        :func:`is_silent`.

    Raises:
        MediaError: Missing, unreadable or empty file; not a media file; no audio track;
            truncated or corrupt data; zero samples in the clip; NaN or infinite samples.
            The error names the file and the reason.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds!r}")
    ref = as_ref(media)
    check_readable(ref, "audio")
    start, end = check_window(ref, "audio")
    if max_seconds is not None:
        end = start + max_seconds if end is None else min(end, start + max_seconds)
    decoded = read_sndfile(ref, start, end)
    if decoded is None:
        decoded = read_pyav(ref, start, end)
    mono, rate, duration = decoded
    if mono.size == 0:
        if start > 0 and duration is not None and start >= duration:
            raise MediaError(
                ref.name, "audio", f"the clip starts at {start:g} s but the audio lasts {duration:.3f} s"
            )
        raise MediaError(ref.name, "audio", "zero-length audio (the file holds no samples)")
    bad = ~np.isfinite(mono)
    if bad.any():
        first = int(np.argmax(bad))
        raise MediaError(
            ref.name,
            "audio",
            f"{int(bad.sum())} NaN or infinite samples (the first at {start + first / rate:.3f} s)",
        )
    out = resample(mono, rate, int(sample_rate))
    if max_seconds is not None:
        out = out[: int(round(max_seconds * sample_rate))]
    return np.ascontiguousarray(out, dtype=np.float32)


def is_silent(audio: np.ndarray, threshold: float = 1e-4) -> bool:
    """Whether a waveform is silence: empty, or its peak magnitude below ``threshold``.

    Args:
        audio: A waveform as returned by :func:`load_audio`.
        threshold: Peak magnitude (full scale is 1.0) under which it counts as silent;
            1e-4 is -80 dBFS, below 16-bit dither.
    """
    return audio.size == 0 or float(np.max(np.abs(audio))) < threshold
