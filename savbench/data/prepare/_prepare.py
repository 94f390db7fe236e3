"""``savbench data prepare``: released annotations + the user's media folder -> a task manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from savbench._errors import SpecError
from savbench._io import atomic_write_jsonl
from savbench.data._manifest import MEDIA_FIELDS, parse_manifest_row
from savbench.data.prepare._audiocaps import read_csv_items
from savbench.data.prepare._registry import get_converter
from savbench.tasks import HFSource, LoadedTask


@dataclass
class PrepareReport:
    """What preparation found.

    Args:
        task: Task name.
        annotations: The annotation file read.
        manifest: The manifest written.
        media_root: The media folder the manifest points into.
        n_samples: Rows written (one per annotation item).
        n_complete: Rows whose every media file was found.
        missing: (sample id, field, path as in the annotations) for every file not found.
    """

    task: str
    annotations: Path
    manifest: Path
    media_root: Path
    n_samples: int
    n_complete: int
    missing: list[tuple[str, str, str]] = field(default_factory=list)


def _locate(root: Path, relative: str, index: dict[str, list[str]] | None) -> str | None:
    """Find an annotation path under the media root: as written, then by its last two or one
    components (users rarely keep the authors' folder layout)."""
    parts = Path(relative).parts
    for n in range(len(parts), 0, -1):
        candidate = Path(*parts[-n:])
        if (root / candidate).is_file():
            return candidate.as_posix()
    if index is not None:
        hits = index.get(parts[-1], [])
        if len(hits) == 1:
            return hits[0]
    return None


def _file_index(root: Path) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for folder, _, files in os.walk(root, followlinks=True):
        for name in files:
            index.setdefault(name, []).append((Path(folder) / name).relative_to(root).as_posix())
    return index


def annotation_path(task: LoadedTask, annotations: Path) -> Path:
    if annotations.is_dir():
        if task.spec.prepare is None:
            raise SpecError(task.path, "prepare", "the task does not say which annotation file it reads")
        return annotations / task.spec.prepare.annotation_file
    return annotations


def prepare_task(
    task: LoadedTask,
    annotations: Path,
    media_root: Path,
    output: Path | None = None,
    *,
    search_media: bool = True,
) -> PrepareReport:
    """Convert a task's released annotations into its manifest.

    Args:
        task: A task whose spec has a ``prepare`` section and a manifest source.
        annotations: The annotation file, or a folder holding it.
        media_root: The user's folder with the media files.
        output: Manifest path; defaults to the path the task's YAML reads.
        search_media: Index the media folder to find files by name when the annotation's
            folder layout differs from the user's.

    Raises:
        SpecError: The task cannot be prepared, the annotation file is missing or malformed
            (file, item and field named), or the media folder does not exist.
    """
    spec = task.spec
    if spec.prepare is None:
        raise SpecError(
            task.path, "prepare", "this task has no preparation step (its data come from elsewhere)"
        )
    if isinstance(spec.source, HFSource):
        raise SpecError(task.path, "source", "a Hugging Face task needs no preparation")
    path = annotation_path(task, annotations)
    if not path.is_file():
        raise SpecError(path, "", "annotation file not found")
    if path.suffix.lower() == ".csv":
        items: Any = read_csv_items(path)
    else:
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SpecError(path, "", f"cannot read annotations: {exc}") from None
    if not isinstance(items, list) or not items:
        raise SpecError(path, "", "expected a non-empty JSON list of items")
    rows = get_converter(spec.prepare.converter)(items, path)
    root = media_root.expanduser().resolve()
    if not root.is_dir():
        raise SpecError(path, "--media-root", f"media folder {media_root} not found")
    index = _file_index(root) if search_media else None
    missing: list[tuple[str, str, str]] = []
    complete = 0
    for row in rows:
        ok = True
        candidates = row.pop("_candidates", {})
        for name in MEDIA_FIELDS:
            if name not in row:
                continue
            found = None
            for option in [row[name], *candidates.get(name, [])]:
                found = _locate(root, option, index)
                if found is not None:
                    break
            if found is None:
                missing.append((str(row["id"]), name, row[name]))
                ok = False
                row[name] = Path(row[name]).as_posix().lstrip("/")
            else:
                row[name] = found
        complete += ok
    manifest = output or task.resolve(spec.source.path)
    for number, row in enumerate(rows, start=1):  # the same validation the runner applies
        parse_manifest_row(row, task=task.name, media_root=root, path=manifest, line=number)
    atomic_write_jsonl(manifest, rows)
    if output is None and spec.source.media_root is not None:
        _link_media_root(task.resolve(spec.source.media_root), root)
    return PrepareReport(
        task=task.name,
        annotations=path,
        manifest=manifest,
        media_root=root,
        n_samples=len(rows),
        n_complete=complete,
        missing=missing,
    )


def _link_media_root(link: Path, target: Path) -> None:
    """Point the task's media folder at the user's media folder (a symlink the runner follows)."""
    if link.resolve() == target:
        return
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise SpecError(link, "", "exists and is not a link; pass --media-root at run time instead")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


def summary(report: PrepareReport, show: int = 10) -> str:
    lines = [
        f"{report.task}: {report.n_samples} samples from {report.annotations}",
        f"  manifest: {report.manifest}",
        f"  media:    {report.media_root}",
        f"  {report.n_complete} of {report.n_samples} samples have all their media; {len(report.missing)} file(s) missing",
    ]
    for sample_id, name, path in report.missing[:show]:
        lines.append(f"    missing {name} of {sample_id}: {path}")
    if len(report.missing) > show:
        lines.append(f"    ... and {len(report.missing) - show} more (see --missing-list)")
    return "\n".join(lines)


def missing_rows(report: PrepareReport) -> list[dict[str, Any]]:
    return [{"id": i, "field": f, "path": p} for i, f, p in report.missing]
