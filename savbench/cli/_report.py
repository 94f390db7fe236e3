"""``savbench report`` (one self-contained HTML file) and ``savbench plot`` (PNG charts)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from savbench.cli._common import HelpFormatter


def add_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report",
        help="write a self-contained HTML report of one or more runs",
        description="Write one HTML file (no network needed to view it) with scores and CIs, the leaderboard, "
        "the modality-reliance table of ablated runs, and a filterable per-sample browser.",
        formatter_class=HelpFormatter,
    )
    report.add_argument(
        "runs", nargs="+", type=Path, help="run folders (include ablated runs for the reliance table)"
    )
    report.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="HTML file to write")
    report.add_argument(
        "--no-published", action="store_true", help="leave published numbers out of the leaderboard"
    )
    report.add_argument("--title", default="savbench report", help="page title")
    report.set_defaults(handler=handle_report)

    plot = sub.add_parser(
        "plot",
        help="write PNG charts (scores with CIs, modality reliance)",
        description="Write scores.png (primary metric per task across runs, with 95 % CIs) and, when ablated runs "
        "are given, reliance.png.",
        formatter_class=HelpFormatter,
    )
    plot.add_argument("runs", nargs="+", type=Path, help="run folders")
    plot.add_argument("-o", "--output-dir", type=Path, default=Path("plots"), help="folder for the PNG files")
    plot.set_defaults(handler=handle_plot)


def _runs(paths: list[Path]) -> list[Any]:
    from savbench.report import load_run

    return [load_run(p) for p in paths]


def handle_report(args: argparse.Namespace) -> int:
    from savbench._io import atomic_write_text
    from savbench.leaderboard import read_published
    from savbench.report import build_html

    published = [] if args.no_published else read_published()
    atomic_write_text(args.output, build_html(_runs(args.runs), published, title=args.title))
    print(f"wrote {args.output}")
    return 0


def handle_plot(args: argparse.Namespace) -> int:
    from savbench.report._plots import plot_reliance, plot_scores

    runs = _runs(args.runs)
    written = [plot_scores(runs, args.output_dir / "scores.png")]
    reliance = plot_reliance(runs, args.output_dir / "reliance.png")
    if reliance is not None:
        written.append(reliance)
    for path in written:
        print(f"wrote {path}")
    return 0
