"""``savbench compare``: paired comparison of two runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from savbench._text import terminal_text
from savbench.cli._common import HelpFormatter, table

DESCRIPTION = """\
Compare two runs on the samples both scored: per task and metric, both scores, the difference
A - B with a paired bootstrap 95 % CI, a p-value (exact McNemar for right/wrong metrics, an
approximate randomisation test otherwise; clustered by the samples' cluster ids), and how many
samples each run got right (or better) where the other did not. Nothing is re-run: predictions
come from the run folders."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "compare",
        help="paired significance test between two runs",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run_a", type=Path, help="first run folder (A)")
    parser.add_argument("run_b", type=Path, help="second run folder (B)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples and permutations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from savbench.compare import compare_runs
    from savbench.report import load_run

    run_a, run_b = load_run(args.run_a), load_run(args.run_b)
    comparisons = compare_runs(run_a, run_b, resamples=args.resamples, seed=args.seed)
    if args.json:
        print(json.dumps([c.to_dict() for c in comparisons], indent=2))
        return 0

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4g}"

    rows = [
        [
            c.task,
            c.metric,
            str(c.n_shared),
            fmt(c.score_a),
            fmt(c.score_b),
            "n/a" if c.difference is None else f"{c.difference:+.4g}",
            f"[{fmt(c.ci[0])}, {fmt(c.ci[1])}]" if c.ci else "",
            fmt(c.p_value) + (" *" if c.significant else ""),
            f"{c.a_better}/{c.b_better}",
        ]
        for c in comparisons
    ]
    print(f"A = {terminal_text(run_a.run_id)} ({terminal_text(run_a.model)})")
    print(f"B = {terminal_text(run_b.run_id)} ({terminal_text(run_b.model)})\n")
    print(table(rows, ["task", "metric", "n", "A", "B", "A-B", "95% CI", "p", "A>B / B>A"]))
    print("\n* p < 0.05. A>B / B>A: samples where one run is right (or scores better) and the other is not.")
    return 0
