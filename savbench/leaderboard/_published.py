"""``results/published.csv``: numbers the papers printed, with their sources."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from savbench._errors import SpecError

COLUMNS = (
    "benchmark", "task", "metric", "direction", "model", "score", "scale",
    "status", "source", "source_url", "eval_setting", "note",
)  # fmt: skip
SCALES = ("percent", "fraction", "score")


@dataclass(frozen=True)
class PublishedNumber:
    """One cell of a published table."""

    benchmark: str
    task: str
    metric: str
    direction: str
    model: str
    score: float | None
    scale: str
    status: str
    source: str
    source_url: str
    eval_setting: str
    note: str


def default_published_path() -> Path:
    return Path(__file__).resolve().parents[2] / "results" / "published.csv"


def read_published(path: Path | None = None) -> list[PublishedNumber]:
    """Read and validate published.csv.

    Raises:
        SpecError: A missing column, an unknown direction/scale/status, or a score that is not a
            number where the status is ``ok`` (with the line number).
    """
    path = path or default_published_path()
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    numbers: list[PublishedNumber] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SpecError(path, "header", f"missing column(s) {missing}")
        for line, row in enumerate(reader, start=2):
            where = f"line {line}"
            if row["direction"] not in ("higher", "lower"):
                raise SpecError(
                    path, f"{where}.direction", f"must be higher or lower, got {row['direction']!r}"
                )
            if row["scale"] not in SCALES:
                raise SpecError(path, f"{where}.scale", f"must be one of {SCALES}, got {row['scale']!r}")
            if row["status"] not in ("ok", "missing"):
                raise SpecError(path, f"{where}.status", f"must be ok or missing, got {row['status']!r}")
            score: float | None = None
            if row["status"] == "ok":
                try:
                    score = float(row["score"])
                except ValueError:
                    raise SpecError(path, f"{where}.score", f"not a number: {row['score']!r}") from None
            for field in ("benchmark", "task", "metric", "model", "source"):
                if not row[field].strip():
                    raise SpecError(path, f"{where}.{field}", "must not be empty")
            numbers.append(PublishedNumber(**{**{c: row[c] for c in COLUMNS}, "score": score}))
    return numbers
