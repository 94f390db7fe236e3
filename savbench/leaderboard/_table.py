"""The leaderboard table (pandas): one row per model, one column per task and metric."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from savbench._io import atomic_write_text
from savbench._text import csv_cell, markdown_cell
from savbench.leaderboard._cells import Cell


def _format(cell: Cell) -> str:
    if cell.score is None:
        return "n/a"
    digits = 2 if cell.scale == "percent" else 4
    text = f"{cell.score:.{digits}f}"
    if cell.ci is not None:
        text += f" [{cell.ci[0]:.{digits}f}, {cell.ci[1]:.{digits}f}]"
    return text


def build_table(cells: list[Cell]) -> pd.DataFrame:
    """Latest cell per (model, task, metric); measured rows first, then published.

    Columns: ``model``, ``origin``, then ``TASK/METRIC`` (score) with ``TASK/METRIC ci_low`` and
    ``ci_high`` beside measured scores.
    """
    latest: dict[tuple[str, str, str], Cell] = {}
    for cell in cells:  # runs are passed oldest first, so later ones replace earlier ones
        latest[(cell.model, cell.task, cell.metric)] = cell
    records: dict[str, dict[str, object]] = {}
    columns: list[str] = []
    for (model, task, metric), cell in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        row = records.setdefault(model, {"model": model, "origin": cell.origin})
        column = f"{task}/{metric}"
        if column not in columns:
            columns.append(column)
        row[column] = cell.score
        if cell.ci is not None:
            row[f"{column} ci_low"] = cell.ci[0]
            row[f"{column} ci_high"] = cell.ci[1]
    ordered = []
    for column in columns:
        ordered += [column, f"{column} ci_low", f"{column} ci_high"]
    frame = pd.DataFrame(list(records.values()))
    if frame.empty:
        return pd.DataFrame(columns=["model", "origin"])
    frame = frame.reindex(columns=["model", "origin"] + [c for c in ordered if c in frame.columns])
    frame = frame.sort_values(
        ["origin", "model"], key=lambda s: s.map({"measured": "0", "published": "1"}).fillna(s)
    )
    return frame.reset_index(drop=True)


def markdown_table(cells: list[Cell]) -> str:
    """Markdown: one row per model, one column per task/metric, score with CI where measured."""
    latest: dict[tuple[str, str, str], Cell] = {}
    for cell in cells:
        latest[(cell.model, cell.task, cell.metric)] = cell
    columns = sorted({f"{t}/{m}" for (_, t, m) in latest})
    models = sorted(
        {c.model for c in latest.values()}, key=lambda m: (m.endswith("]") and "[published" in m, m)
    )
    arrows = {}
    for cell in latest.values():
        arrows[f"{cell.task}/{cell.metric}"] = "↑" if cell.direction == "higher" else "↓"
    lines = ["| model | " + " | ".join(f"{markdown_cell(c)} {arrows[c]}" for c in columns) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for model in models:
        cells_of = {f"{t}/{m}": c for (mod, t, m), c in latest.items() if mod == model}
        values = [_format(cells_of[c]) if c in cells_of else "" for c in columns]
        lines.append("| " + markdown_cell(model) + " | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def csv_text(frame: pd.DataFrame) -> str:
    """The table as CSV: every text cell quoted (a carriage return inside a label cannot end a
    row) and guarded against formula injection; numbers unquoted."""
    safe = frame.rename(columns=csv_cell)
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def write_leaderboard(cells: list[Cell], csv_path: Path, md_path: Path) -> pd.DataFrame:
    """Write the CSV and markdown tables; returns the table as built (unescaped)."""
    frame = build_table(cells)
    atomic_write_text(csv_path, csv_text(frame))
    atomic_write_text(md_path, markdown_table(cells))
    return frame
