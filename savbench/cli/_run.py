"""``savbench run``: evaluate a model on tasks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from savbench._errors import RunError
from savbench.cli._common import (
    HelpFormatter,
    add_include_path,
    add_judge_options,
    add_media_root,
    media_roots,
    table,
)

if TYPE_CHECKING:
    from savbench.runner import RunConfig

DESCRIPTION = """\
Run a model on tasks or groups and write a scored report to OUTPUT_DIR/RUN_NAME/:
results.json (scores, confidence intervals, settings, versions) and samples.jsonl
(prompt, prediction, references and score of every sample).

Predictions are stored as they are made; rerunning the same command resumes where a
killed run stopped and skips finished samples. A sample whose media cannot be decoded,
or on which the model fails, becomes an error row with the reason and is left out of
the scores (use --strict to stop at the first one instead)."""

EPILOG = """\
examples:
  savbench run --model oracle --tasks mini
  savbench run --model video-salmonn --model-args preset=video-salmonn-13b,checkpoint=ckpt/video_salmonn.pth \\
      --tasks save --batch-size 8
  savbench run --model chance --tasks mini_avqa --seed 3 --limit 20
  savbench run --model video-salmonn-tiny --tasks mini --ablate audio"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="evaluate a model on tasks and write a scored report",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model",
        required=True,
        help="model adapter name (see `savbench models`); lmms:NAME for lmms-eval models",
    )
    parser.add_argument(
        "--tasks", required=True, help="comma-separated task and group names (see `savbench tasks`)"
    )
    parser.add_argument(
        "--model-args", default="", metavar="K=V,...", help="adapter arguments, e.g. preset=tiny,dtype=bf16"
    )
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N samples per task")
    parser.add_argument(
        "--offset", type=int, default=0, metavar="N", help="skip the first N samples of each task"
    )
    parser.add_argument("--batch-size", type=int, default=1, metavar="B", help="requests per model call")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for sampling, chance baselines and bootstrap CIs"
    )
    parser.add_argument(
        "--gen-kwargs",
        default="",
        metavar="K=V,...",
        help="override generation settings, e.g. max_new_tokens=64,num_beams=4",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("results"), metavar="DIR", help="parent folder of run folders"
    )
    parser.add_argument(
        "--run-name",
        default=None,
        metavar="NAME",
        help="run folder name (default: model name + settings hash)",
    )
    add_media_root(parser)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=None,
        metavar="N",
        help="decoding processes (default: from the CPU count; 0 decodes in-process)",
    )
    parser.add_argument(
        "--prefetch", type=int, default=2, metavar="N", help="batches each decoding process prepares ahead"
    )
    parser.add_argument(
        "--ablate",
        default="none",
        metavar="STREAMS",
        help="replace streams by neutral input: audio, video, image (comma-separated) or none",
    )
    parser.add_argument(
        "--video-fill",
        choices=("mean", "first"),
        default="mean",
        help="neutral video for --ablate video: the clip's mean colour or its first frame repeated",
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first failed sample instead of recording it"
    )
    parser.add_argument(
        "--retry-errors", action="store_true", help="retry samples whose stored result is an error"
    )
    parser.add_argument(
        "--allow-missing-modalities",
        action="store_true",
        help="run tasks that need streams the model cannot take",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for confidence intervals",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--no-reuse",
        action="store_true",
        help="recompute predictions that other runs in OUTPUT_DIR stored under the same settings",
    )
    add_judge_options(parser)
    add_include_path(parser)
    parser.set_defaults(handler=handle)


def _ablations(text: str) -> tuple[str, ...]:
    names = [a.strip() for a in text.split(",") if a.strip()]
    if names in ([], ["none"]):
        return ()
    if "all" in names:
        if len(names) > 1:
            raise RunError("--ablate all cannot be combined with other streams")
        return ("all",)
    return tuple(names)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    from savbench.runner import RunConfig, parse_kv

    return RunConfig(
        model=args.model,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        model_args=parse_kv(args.model_args, option="--model-args"),
        limit=args.limit,
        offset=args.offset,
        batch_size=args.batch_size,
        seed=args.seed,
        output_dir=args.output_dir,
        run_name=args.run_name,
        strict=args.strict,
        num_workers=args.num_workers,
        prefetch_factor=args.prefetch,
        gen_kwargs=dict(parse_kv(args.gen_kwargs, option="--gen-kwargs")),
        ablate=_ablations(args.ablate),
        video_fill=args.video_fill,
        media_roots=media_roots(args.media_root),
        include_paths=args.include_path,
        allow_missing_modalities=args.allow_missing_modalities,
        retry_errors=args.retry_errors,
        bootstrap_samples=args.bootstrap,
        progress=not args.no_progress,
        reuse_predictions=not args.no_reuse,
        judge_model=args.judge_model,
        judge_base_url=args.judge_base_url,
        judge_api_key_env=args.judge_api_key_env,
        judge_concurrency=args.judge_concurrency,
        judge_timeout=args.judge_timeout,
    )


def format_score(value: float | None, scale: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if scale == "percent" else f"{value:.4f}"


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for task, section in results["tasks"].items():
        for name, metric in section["metrics"].items():
            scale = metric["scale"]
            ci = metric.get("ci")
            ci_text = f"[{format_score(ci[0], scale)}, {format_score(ci[1], scale)}]" if ci else ""
            note = metric.get("unavailable") or ""
            # a judge reply that failed or could not be read leaves that sample out of this metric only
            judge_errors = int((metric.get("definition") or {}).get("judge_errors") or 0)
            if judge_errors and not note:
                note = f"{judge_errors} judge repl{'y' if judge_errors == 1 else 'ies'} failed or unreadable"
            rows.append(
                [
                    task,
                    name,
                    format_score(metric["score"], scale),
                    ci_text,
                    scale,
                    str(metric.get("n", section["n_scored"])),
                    str(section["n_errors"] + judge_errors),
                    note,
                ]
            )
    return rows


def handle(args: argparse.Namespace) -> int:
    import dataclasses

    from savbench.runner import run

    config = config_from_args(args)
    if config.ablate != ("all",):
        return _print_outcome(run(config))
    streams = _streams_used(config)
    outcomes = []
    for ablation in [(), *((s,) for s in streams)]:
        label = "+".join(ablation) or "none"
        print(f"\n=== --ablate {label}")
        outcome = run(dataclasses.replace(config, ablate=ablation))
        _print_outcome(outcome)
        outcomes.append(outcome)
    _print_reliance([o.run_dir for o in outcomes], config.seed)
    return 0


def _streams_used(config: RunConfig) -> list[str]:
    from savbench.tasks import TaskRegistry, default_search_paths

    registry = TaskRegistry(default_search_paths(config.include_paths))
    modalities = {m for task in registry.expand(config.tasks) for m in task.spec.modalities}
    streams = {"speech": "audio", "audio": "audio", "video": "video", "image": "image"}
    return sorted({streams[m] for m in modalities})


def _print_reliance(run_dirs: list[Path], seed: int) -> None:
    from savbench.compare import reliance_table
    from savbench.report import load_run

    cells = reliance_table([load_run(d) for d in run_dirs], seed=seed)
    rows = [
        [
            c.task,
            c.metric,
            c.stream,
            format_score(c.full, c.scale),
            format_score(c.ablated, c.scale),
            format_score(c.drop, c.scale),
            f"[{format_score(c.ci[0], c.scale)}, {format_score(c.ci[1], c.scale)}]" if c.ci else "",
        ]
        for c in cells
    ]
    print("\nmodality reliance (drop > 0: the model needed the stream)")
    print(table(rows, ["task", "metric", "removed", "full", "ablated", "drop", "95% CI of drop"]))


def _print_outcome(outcome: Any) -> int:
    results = outcome.results
    if not results:  # a non-zero rank of a data-parallel run: rank 0 reports
        return 0
    print(table(summary_rows(results), ["task", "metric", "score", "95% CI", "scale", "n", "errors", "note"]))
    timing = results["timing"]
    print(
        f"\n{timing['samples_processed']} samples processed in {timing['wall_s']:.1f} s"
        f" ({timing['samples_per_s'] or 0:.2f} samples/s); report: {outcome.run_dir}/results.json"
    )
    errors = sum(section["n_errors"] for section in results["tasks"].values())
    if errors:
        print(
            f"{errors} sample(s) failed and were left out of the scores; see 'error' in {outcome.run_dir}/samples.jsonl"
        )
    return 0
