"""``savbench export``: write savbench tasks in another harness's format."""

from __future__ import annotations

import argparse
from typing import Any

from savbench.cli._common import HelpFormatter, add_include_path, add_media_root, media_roots, table

DESCRIPTION = """\
Write savbench tasks as lmms-eval tasks: one TASK.yaml and TASK.jsonl per task, a shared
utils.py and savbench_export.json in DIR. lmms-eval then runs them with
`--include_path DIR --tasks TASK`. The hooks call savbench (which must be installed where
lmms-eval runs): media are decoded, prompts rendered and scores computed as `savbench run` does,
so the numbers match."""

EPILOG = """\
examples:
  savbench export lmms-eval exported/ --tasks mini
  lmms-eval --model qwen2_audio --tasks mini_asr --include_path exported/"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export",
        help="write savbench tasks for lmms-eval",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("format", choices=("lmms-eval",), help="target harness")
    parser.add_argument("dir", metavar="DIR", help="output folder")
    parser.add_argument("--tasks", default="mini", help="comma-separated task and group names")
    add_media_root(parser)
    parser.add_argument(
        "--video",
        choices=("frames", "file"),
        default="frames",
        help="give models savbench's sampled frames (as an mp4) or the original video file",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed of the scores")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples")
    add_include_path(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from savbench.export import export_lmms_eval

    written = export_lmms_eval(
        [t.strip() for t in args.tasks.split(",") if t.strip()],
        args.dir,
        include_paths=args.include_path,
        media_roots=media_roots(args.media_root),
        video=args.video,
        seed=args.seed,
        bootstrap_samples=args.bootstrap,
    )
    print(
        table(
            [[t.name, str(t.rows), str(t.yaml_path)] for t in written], ["task", "samples", "lmms-eval yaml"]
        )
    )
    folder = written[0].yaml_path.parent if written else args.dir
    names = ",".join(t.name for t in written)
    print(f"\nrun with: lmms-eval --model MODEL --tasks {names} --include_path {folder}")
    return 0
