"""Audio files libsndfile reads directly (wav, flac, ogg, aiff, ...), block by block."""

from __future__ import annotations

import re

import numpy as np

from savbench.data import MediaRef
from savbench.media._resample import downmix
from savbench.media._source import open_binary
from savbench.media._types import MediaError

BLOCK_FRAMES = 1 << 18
# libsndfile logs "data : <declared bytes> (should be <bytes present>)" for a cut-off WAV chunk.
_SHORT_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_UNKNOWN_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000}  # written by streaming recorders
# Formats libsndfile seeks in exactly; others are read from the start and the head dropped.
_EXACT_SEEK = {"WAV", "WAVEX", "RF64", "W64", "AIFF", "CAF", "AU", "FLAC"}
# Left to FFmpeg: libsndfile's mp3 reader (mpg123) decodes garbage and silence when read in
# blocks or after a seek.
_PASS_TO_FFMPEG = {"MP3", "MPEG"}


def read_sndfile(ref: MediaRef, start: float, end: float | None) -> tuple[np.ndarray, int, float] | None:
    """Mono float32 samples of [start, end), their rate and the file's duration.

    Returns None when libsndfile does not recognise the content, so PyAV can try.

    Raises:
        MediaError: libsndfile recognised the file but its data is cut off or damaged.
    """
    import soundfile as sf

    try:
        handle = sf.SoundFile(open_binary(ref))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None  # an unknown format, or one libsndfile cannot open: PyAV decides
    with handle:
        if handle.format in _PASS_TO_FFMPEG:
            return None
        rate = int(handle.samplerate)
        total = int(handle.frames)
        _check_chunk_sizes(ref, handle.extra_info)
        first = min(int(round(start * rate)), total)
        last = total if end is None else min(total, int(round(end * rate)))
        blocks: list[np.ndarray] = []
        got = 0
        try:
            if first > 0 and handle.format in _EXACT_SEEK:
                handle.seek(first)
            else:
                _skip(handle, first)
            while got < last - first:
                block = handle.read(min(BLOCK_FRAMES, last - first - got), dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                blocks.append(downmix(block))
                got += len(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise MediaError(ref.name, "audio", f"corrupt or truncated audio data ({exc})") from None
        if got < last - first:
            raise MediaError(
                ref.name,
                "audio",
                f"truncated file: the header declares {total / rate:.3f} s but the data ends at "
                f"{(first + got) / rate:.3f} s",
            )
    mono = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return mono, rate, total / rate


def _skip(handle, frames: int) -> None:  # noqa: ANN001 - a soundfile.SoundFile
    """Read and drop ``frames`` frames."""
    while frames > 0:
        block = handle.read(min(BLOCK_FRAMES, frames), dtype="float32", always_2d=True)
        if len(block) == 0:
            return
        frames -= len(block)


def _check_chunk_sizes(ref: MediaRef, log: str) -> None:
    for declared, present in _SHORT_CHUNK.findall(log or ""):
        declared_bytes, present_bytes = int(declared), int(present)
        if declared_bytes > present_bytes and declared_bytes not in _UNKNOWN_SIZES:
            raise MediaError(
                ref.name,
                "audio",
                f"truncated file: the data chunk declares {declared_bytes} bytes but only {present_bytes} are present",
            )
