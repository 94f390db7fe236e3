"""Atomic file writes: a killed process leaves either the old file or the new one, never half."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Line breaks other than "\n" that ensure_ascii=False leaves raw inside strings; escaped so that
# readers splitting on any line break (str.splitlines, some JSONL tools) still see one row per line.
_RAW_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
# A lone surrogate (e.g. from a JSON API reply, or an undecodable argv byte) cannot be UTF-8
# encoded; inside a JSON string its \uXXXX escape is valid and reads back as the same value.
_JSON_SAFE = "backslashreplace"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, fsync it, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; a report is a normal file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _file_mode(path: Path) -> int:
    """The mode ``open`` would give a new file (0666 less the umask), or the replaced file's."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        pass
    try:  # Linux shows the umask without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8", _JSON_SAFE))


def json_line(row: Any) -> bytes:
    """One JSON Lines row: UTF-8, newline-terminated, with no raw line break inside."""
    text = json.dumps(row, ensure_ascii=False, allow_nan=False)
    for raw, escaped in _RAW_LINE_BREAKS.items():
        if raw in text:  # only possible inside a string, where the escape means the same
            text = text.replace(raw, escaped)
    return text.encode("utf-8", _JSON_SAFE) + b"\n"


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_bytes(path, b"".join(json_line(row) for row in rows))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
