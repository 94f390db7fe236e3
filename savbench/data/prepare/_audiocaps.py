"""AudioCaps test captions (the official ``test.csv``) grouped into one sample per clip."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from savbench._errors import SpecError
from savbench.data.prepare._registry import register_converter

COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


def read_csv_items(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV annotation file (AudioCaps ships CSV, not JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, "", f"cannot read annotations: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SpecError(path, "header", f"missing column(s) {missing}; expected {', '.join(COLUMNS)}")
    return list(reader)


@register_converter("audiocaps_csv")
def audiocaps(items: list[Any], path: Path) -> list[dict[str, Any]]:
    """One sample per YouTube clip with all its captions as references.

    The audio file is looked up as ``<youtube_id>.wav``, ``Y<youtube_id>.wav``,
    ``<youtube_id>_<start>.wav`` (and the same with .flac), the names common mirrors use.
    """
    clips: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        try:
            youtube_id, start, caption = item["youtube_id"], item["start_time"], item["caption"]
        except (KeyError, TypeError):
            raise SpecError(path, f"row {i + 2}", "expected youtube_id, start_time and caption") from None
        if not youtube_id or not caption:
            raise SpecError(path, f"row {i + 2}", "empty youtube_id or caption")
        clip = clips.setdefault(
            youtube_id,
            {
                "id": youtube_id,
                "audio": f"{youtube_id}.wav",
                "_candidates": {
                    "audio": [f"{stem}{ext}" for stem in (youtube_id, f"Y{youtube_id}", f"{youtube_id}_{start}",
                                                          f"{youtube_id}_{int(float(start or 0))}")
                              for ext in (".wav", ".flac")]
                },
                "references": [],
                "meta": {"start_time": start},
            },
        )  # fmt: skip
        clip["references"].append(caption)
    return list(clips.values())
