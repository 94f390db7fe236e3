"""JSONL manifests: one sample per line, media paths relative to a media root.

Fields: ``id`` (required, unique), ``references`` (required, non-empty list of strings),
``audio``/``video``/``image`` (paths), ``audio_start``/``audio_end``/``video_start``/``video_end``
(seconds), ``question``, ``choices``, ``cluster``, ``meta``. Unknown fields are refused so that a
typo (``refrences``) is caught rather than silently scored as empty.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from savbench._errors import SpecError
from savbench.data._sample import MediaRef, Sample

MEDIA_FIELDS = ("audio", "video", "image")
_ALLOWED = {
    "id", "references", "question", "choices", "cluster", "meta",
    "audio", "video", "image", "audio_start", "audio_end", "video_start", "video_end",
}  # fmt: skip


def resolve_media_path(root: Path, relative: str, *, manifest: Path, field: str) -> str:
    """Join a manifest path to the media root, refusing anything that escapes the root.

    Absolute paths, ``..`` components and symlinks that point outside the root are refused: a
    manifest from elsewhere must not make savbench read arbitrary files.
    """
    if not relative:
        raise SpecError(manifest, field, "empty media path")
    candidate = Path(relative)
    if candidate.is_absolute() or candidate.drive:
        raise SpecError(
            manifest, field, f"absolute media path {relative!r}; paths must be relative to the media root"
        )
    if ".." in candidate.parts:
        raise SpecError(manifest, field, f"media path {relative!r} climbs out of the media root with '..'")
    root_resolved = root.resolve()
    try:
        full = (root_resolved / candidate).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte or an unpaired surrogate in the name
        raise SpecError(
            manifest, field, f"media path {relative!r} is not a usable file name: {exc}"
        ) from None
    try:
        full.relative_to(root_resolved)
    except ValueError:
        raise SpecError(
            manifest, field, f"media path {relative!r} resolves outside the media root (symlink?)"
        ) from None
    return str(full)


def _expect(cond: bool, path: Path, field: str, reason: str) -> None:
    if not cond:
        raise SpecError(path, field, reason)


def _optional_seconds(row: dict[str, Any], key: str, path: Path, where: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
    _expect(ok, path, f"{where}.{key}", f"must be a non-negative number of seconds, got {value!r}")
    return float(value)


def parse_manifest_row(row: Any, *, task: str, media_root: Path, path: Path, line: int) -> Sample:
    """Validate one decoded JSON line and turn it into a Sample."""
    where = f"line {line}"
    _expect(isinstance(row, dict), path, where, f"expected a JSON object, found {type(row).__name__}")
    unknown = sorted(set(row) - _ALLOWED)
    _expect(
        not unknown,
        path,
        f"{where}.{unknown[0] if unknown else ''}",
        f"unknown field; allowed: {', '.join(sorted(_ALLOWED))}",
    )
    sample_id = row.get("id")
    _expect(isinstance(sample_id, (str, int)) and not isinstance(sample_id, bool) and str(sample_id) != "",
            path, f"{where}.id", "required, a non-empty string")  # fmt: skip
    refs = row.get("references")
    _expect(isinstance(refs, list) and len(refs) > 0 and all(isinstance(r, str) for r in refs),
            path, f"{where}.references", "required, a non-empty list of strings")  # fmt: skip
    question = row.get("question", "")
    _expect(isinstance(question, str), path, f"{where}.question", "must be a string")
    choices = row.get("choices", [])
    _expect(isinstance(choices, list) and all(isinstance(c, str) for c in choices),
            path, f"{where}.choices", "must be a list of strings")  # fmt: skip
    if choices:
        _expect(len(set(choices)) == len(choices), path, f"{where}.choices", "options must be distinct")
        _expect(refs[0] in choices, path, f"{where}.references", f"{refs[0]!r} is not one of the choices")
    cluster = row.get("cluster")
    _expect(cluster is None or isinstance(cluster, str), path, f"{where}.cluster", "must be a string")
    meta = row.get("meta", {})
    _expect(isinstance(meta, dict), path, f"{where}.meta", "must be an object")
    refs_media: dict[str, MediaRef | None] = {}
    for field in MEDIA_FIELDS:
        value = row.get(field)
        if value is None:
            refs_media[field] = None
            continue
        _expect(isinstance(value, str), path, f"{where}.{field}", "must be a path string")
        full = resolve_media_path(media_root, value, manifest=path, field=f"{where}.{field}")
        start = _optional_seconds(row, f"{field}_start", path, where) if field != "image" else None
        end = _optional_seconds(row, f"{field}_end", path, where) if field != "image" else None
        if start is not None and end is not None:
            _expect(end > start, path, f"{where}.{field}_end", "must be greater than the start")
        refs_media[field] = MediaRef(path=full, start=start, end=end)
    _expect(
        any(refs_media.values()) or question,
        path,
        where,
        "a sample needs at least one media file or a question",
    )
    return Sample(
        id=str(sample_id),
        task=task,
        audio=refs_media["audio"],
        video=refs_media["video"],
        image=refs_media["image"],
        question=question,
        choices=tuple(choices),
        references=tuple(refs),
        cluster=cluster,
        meta=meta,
    )


def read_manifest(path: Path, *, task: str, media_root: Path) -> list[Sample]:
    """Read and validate a whole manifest.

    Raises:
        SpecError: Missing or unreadable file, invalid UTF-8 or JSON, a bad field, a duplicate id,
            or no samples at all; always with the file and the line.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(path, "", f"cannot read manifest: {exc.strerror or exc}") from None
    samples: list[Sample] = []
    first_line: dict[str, int] = {}
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpecError(
                path, f"line {number}", f"not valid UTF-8 (byte {exc.start} of the line)"
            ) from None
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SpecError(
                path, f"line {number}", f"invalid JSON: {exc.msg} at column {exc.colno}"
            ) from None
        except RecursionError:
            raise SpecError(path, f"line {number}", "invalid JSON: nested too deeply") from None
        sample = parse_manifest_row(row, task=task, media_root=media_root, path=path, line=number)
        if sample.id in first_line:
            raise SpecError(
                path,
                f"line {number}.id",
                f"duplicate id {sample.id!r} (first on line {first_line[sample.id]})",
            )
        first_line[sample.id] = number
        samples.append(sample)
    if not samples:
        raise SpecError(path, "", "the manifest holds no samples")
    return samples


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (identifies the exact manifest a run used)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
