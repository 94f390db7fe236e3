"""Opening a media reference: a path on disk or bytes in memory, checked before any decoder runs."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, BinaryIO

from savbench.data import MediaRef
from savbench.media._types import MediaError

MediaLike = MediaRef | str | Path


def as_ref(media: MediaLike) -> MediaRef:
    """A :class:`MediaRef` for a reference, a path string or a ``Path``."""
    if isinstance(media, MediaRef):
        return media
    if isinstance(media, str | Path):
        return MediaRef(path=str(media))
    raise TypeError(f"expected a MediaRef, str or Path, got {type(media).__name__}")


def check_readable(ref: MediaRef, stream: str) -> None:
    """Fail early, with the reason, for the commonest problems with a file on disk."""
    if ref.path is None:
        if not ref.data:
            raise MediaError(ref.name, stream, "no data (empty in-memory media)")
        return
    path = Path(ref.path)
    if not path.exists():
        raise MediaError(ref.name, stream, "file not found")
    if path.is_dir():
        raise MediaError(ref.name, stream, "is a folder, not a media file")
    if not os.access(path, os.R_OK):
        raise MediaError(ref.name, stream, "permission denied (the file is not readable)")
    if path.stat().st_size == 0:
        raise MediaError(ref.name, stream, "empty file (0 bytes)")


def check_window(ref: MediaRef, stream: str) -> tuple[float, float | None]:
    """The clip's start (default 0) and end (None: to the end of the file), validated."""
    start = 0.0 if ref.start is None else float(ref.start)
    end = None if ref.end is None else float(ref.end)
    if not math.isfinite(start) or start < 0:
        raise MediaError(ref.name, stream, f"invalid clip start {ref.start!r} (must be a number >= 0)")
    if end is not None and (not math.isfinite(end) or end <= start):
        raise MediaError(
            ref.name, stream, f"invalid clip end {ref.end!r} (must be after the start {start:g} s)"
        )
    return start, end


def open_binary(ref: MediaRef) -> BinaryIO | str:
    """A path string for files, a fresh seekable buffer for in-memory bytes."""
    if ref.path is not None:
        return ref.path
    return io.BytesIO(ref.data or b"")


def open_container(ref: MediaRef, stream: str) -> Any:
    """An input container opened with PyAV (which sniffs the content, not the extension)."""
    import av

    try:
        return av.open(open_binary(ref), mode="r")
    except av.error.FFmpegError as exc:
        if read_head(ref)[4:8] == b"ftyp":
            reason = "truncated or damaged MP4/MOV file: its index (the moov box) is missing or unreadable"
        else:
            reason = "not a media file FFmpeg can read (unknown format), or its header is damaged"
        raise MediaError(ref.name, stream, f"{reason} ({ffmpeg_reason(exc)})") from None
    except (OSError, ValueError) as exc:
        raise MediaError(ref.name, stream, f"cannot open the file ({exc})") from None


def read_head(ref: MediaRef, size: int = 16) -> bytes:
    """The first ``size`` bytes of the media (fewer if it is shorter; empty if unreadable)."""
    if ref.data is not None:
        return ref.data[:size]
    try:
        with open(ref.path or "", "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's own words for an error, without the file name PyAV appends."""
    return str(getattr(exc, "strerror", None) or exc)
