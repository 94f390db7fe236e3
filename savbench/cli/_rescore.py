"""``savbench rescore``: score a finished run again, e.g. with an LLM judge, without the model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from savbench.cli._common import HelpFormatter, add_judge_options, table

DESCRIPTION = """\
Recompute the scores of a finished run from its stored predictions, optionally adding metrics
(for example an LLM judge). The model is not run. results.json and samples.jsonl are rewritten
in place (atomically) and results.json records the rescoring. Judge calls are cached in the
run's output folder, so rescoring again costs no calls."""

EPILOG = """\
examples:
  savbench rescore results/RUN --metric llm_judge:template=qa_correctness \\
      --judge-model gpt-4o-mini --judge-base-url https://api.openai.com/v1
  savbench rescore results/RUN --metric wer:normalizer=basic --tasks mini_asr"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "rescore",
        help="rescore a finished run (new metrics, LLM judge) without rerunning the model",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run", type=Path, help="run folder")
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME[:K=V,...]",
        help="metric to add or replace (repeatable)",
    )
    parser.add_argument("--tasks", default=None, help="only these comma-separated tasks")
    add_judge_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from savbench.cli._run import summary_rows
    from savbench.judge import JudgeSettings
    from savbench.report import load_run, write_run_files
    from savbench.runner._config import JUDGE_CACHE_FILE
    from savbench.scoring import parse_metric_option, rescore_run

    run = load_run(args.run)
    judge = JudgeSettings(
        model=args.judge_model,
        base_url=args.judge_base_url,
        api_key_env=args.judge_api_key_env,
        concurrency=args.judge_concurrency,
        timeout=args.judge_timeout,
        cache_path=run.path.parent / JUDGE_CACHE_FILE,
    )
    results, rows = rescore_run(
        run,
        add_metrics=[parse_metric_option(m) for m in args.metric],
        tasks=[t.strip() for t in args.tasks.split(",")] if args.tasks else None,
        judge=judge,
    )
    results.pop("format_version", None)
    write_run_files(run.path, results, rows)
    print(table(summary_rows(results), ["task", "metric", "score", "95% CI", "scale", "n", "errors", "note"]))
    print(f"\nrescored {run.path}")
    return 0
