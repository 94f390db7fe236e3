"""``savbench leaderboard``: measured runs beside published numbers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from savbench.cli._common import HelpFormatter

DESCRIPTION = """\
Collect every finished run below RESULTS_DIR and the published numbers of results/published.csv
into one table: one row per model (measured runs and published rows, marked), one column per
task and metric, with 95 % confidence intervals for measured scores. Writes a CSV and a
markdown table."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "leaderboard",
        help="write the leaderboard CSV and markdown from runs and published numbers",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "results_dir", nargs="?", type=Path, default=Path("results"), help="folder holding run folders"
    )
    parser.add_argument(
        "--published",
        type=Path,
        default=None,
        help="published numbers CSV (default: the bundled results/published.csv)",
    )
    parser.add_argument("--no-published", action="store_true", help="leave published numbers out")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="CSV path (default: RESULTS_DIR/leaderboard.csv; markdown beside it)",
    )
    parser.add_argument("--tasks", default=None, help="only these comma-separated tasks")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from savbench.leaderboard import measured_cells, published_cells, read_published, write_leaderboard
    from savbench.report import find_runs

    cells = []
    runs = find_runs(args.results_dir) if args.results_dir.is_dir() else []
    for run in runs:
        cells += measured_cells(run)
    if not args.no_published:
        cells += published_cells(read_published(args.published))
    if args.tasks:
        wanted = {t.strip() for t in args.tasks.split(",")}
        cells = [c for c in cells if c.task in wanted]
    csv_path = args.output or args.results_dir / "leaderboard.csv"
    md_path = csv_path.with_suffix(".md")
    frame = write_leaderboard(cells, csv_path, md_path)
    print(
        f"{len(runs)} run(s), {len(frame)} model row(s), {len({(c.task, c.metric) for c in cells})} task/metric column(s)"
    )
    print(f"wrote {csv_path} and {md_path}")
    return 0
