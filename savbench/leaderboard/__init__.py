"""The leaderboard (measured runs beside published numbers) and published.csv."""

from savbench.leaderboard._cells import (
    Cell,
    canonical_scale,
    convert_scale,
    measured_cells,
    model_label,
    published_cells,
)
from savbench.leaderboard._published import COLUMNS, PublishedNumber, default_published_path, read_published
from savbench.leaderboard._table import build_table, markdown_table, write_leaderboard

__all__ = [
    "COLUMNS",
    "Cell",
    "PublishedNumber",
    "build_table",
    "canonical_scale",
    "convert_scale",
    "default_published_path",
    "markdown_table",
    "measured_cells",
    "model_label",
    "published_cells",
    "read_published",
    "write_leaderboard",
]
