"""``savbench check``: fail when a run is worse than published numbers or a baseline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from savbench._errors import SavbenchError
from savbench.cli._common import HelpFormatter, table

DESCRIPTION = """\
Compare a run with reference numbers and exit 1, printing what moved and by how much, when a
score is worse than its reference beyond the tolerance. Direction-aware: a higher WER is worse,
a lower accuracy is worse.

--against published   the numbers in results/published.csv for the run's model
                      (or --published-model NAME)
--against FILE.json   a baseline written with --write-baseline, or another run's results.json

The tolerance defaults to the run's own 95 % CI (the reference must lie inside it or on its
better side). --exact fails on any change in either direction and on changed predictions:
use it with deterministic models in CI."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="check a run against published numbers or a baseline (exit 1 on regression)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run", type=Path, help="run folder (or its results.json)")
    parser.add_argument("--against", default=None, metavar="published|FILE", help="reference numbers")
    parser.add_argument(
        "--published", type=Path, default=None, help="published numbers CSV (default: bundled)"
    )
    parser.add_argument(
        "--published-model", default=None, metavar="NAME", help="model name as written in published.csv"
    )
    parser.add_argument(
        "--tolerance", default=None, metavar="X|METRIC=X,...", help="absolute slack on the metric's scale"
    )
    parser.add_argument(
        "--exact",
        action="store_true",
        help="fail on any change, either direction, and on changed predictions",
    )
    parser.add_argument(
        "--write-baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the run as a baseline instead of checking",
    )
    parser.set_defaults(handler=handle)


def parse_tolerance(text: str | None) -> float | dict[str, float] | None:
    if text is None:
        return None
    try:
        if "=" not in text:
            return float(text)
        result = {}
        for item in text.split(","):
            name, _, value = item.partition("=")
            result[name.strip()] = float(value)
        return result
    except ValueError:
        raise SavbenchError(f"--tolerance: expected a number or METRIC=NUMBER pairs, got {text!r}") from None


def handle(args: argparse.Namespace) -> int:
    from savbench.check import (
        check_run,
        references_from_file,
        references_from_published,
        report_rows,
        write_baseline,
    )
    from savbench.leaderboard import read_published
    from savbench.report import load_run

    run = load_run(args.run)
    if args.write_baseline:
        write_baseline(run, args.write_baseline)
        print(f"wrote baseline {args.write_baseline} from {run.path}")
        return 0
    if args.against is None:
        raise SavbenchError("--against is required (published, or a baseline / results.json file)")
    if args.against == "published":
        model = args.published_model or run.model
        references = references_from_published(read_published(args.published), model, set(run.tasks))
        if not references:
            raise SavbenchError(
                f"no published number for model {model!r} on the tasks of this run; "
                "use --published-model with the name written in published.csv"
            )
    else:
        references = references_from_file(Path(args.against))
    report = check_run(run, references, tolerance=parse_tolerance(args.tolerance), exact=args.exact)
    headers = ["task", "metric", "measured", "reference", "delta", "tolerance", "dir", "status"]
    print(table(report_rows(report), headers))
    if report.passed:
        print(f"\nOK: {len(report.rows)} number(s) checked against {args.against}")
        return 0
    print(f"\nFAILED: {len(report.failed)} of {len(report.rows)} number(s) moved beyond tolerance:")
    print(table(report_rows(report, only_failed=True), headers))
    return 1
