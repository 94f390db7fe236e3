"""Opening a media reference: a path on disk or bytes in memory, checked before any decoder runs."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from savbench.data import MediaRef
from savbench.media._types import MediaError

MediaLike = MediaRef | str | Path


def as_ref(media: MediaLike) -> MediaRef:
    if isinstance(media, MediaRef):
        return media
    return MediaRef(path=str(media))


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
        raise MediaError(ref.name, stream, "permission denied (file is not readable)")
    if path.stat().st_size == 0:
        raise MediaError(ref.name, stream, "empty file (0 bytes)")


def open_binary(ref: MediaRef) -> BinaryIO | str:
    """A path string for files, a seekable buffer for in-memory bytes."""
    if ref.path is not None:
        return ref.path
    return io.BytesIO(ref.data or b"")
