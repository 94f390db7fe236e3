"""``savbench data prepare``: build a task's manifest from released annotations and local media."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from savbench._errors import SavbenchError
from savbench.cli._common import HelpFormatter, add_include_path

DESCRIPTION = """\
Turn a task's released annotation file plus your own media folder into the manifest the task
reads. Media paths in the annotations are looked up under MEDIA_ROOT as written, then by
their last path components, then by file name anywhere below MEDIA_ROOT. The command reports
how many samples have all their media and lists the missing files. The manifest goes to
$SAVBENCH_DATA (default ~/.cache/savbench/data) unless --output is given."""

EPILOG = """\
example:
  savbench data prepare save_nextqa --annotations SAVEBench/ --media-root ~/data/nextqa/videos"""


def add_parser(sub: Any) -> None:
    data = sub.add_parser(
        "data",
        help="prepare task data",
        description=(
            "Prepare the data of benchmark tasks whose media are not public in one place.\n\n"
            "  savbench data prepare TASK --annotations PATH --media-root DIR\n\n"
            "turns the released annotation file and your own media folder into the task's\n"
            "manifest and reports which media are missing."
        ),
        formatter_class=HelpFormatter,
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="COMMAND", title="commands")
    prepare = data_sub.add_parser(
        "prepare",
        help="build a task manifest from annotations and a media folder",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    prepare.add_argument("task", help="task name (see `savbench tasks`)")
    prepare.add_argument(
        "--annotations", required=True, type=Path, help="annotation file, or the folder holding it"
    )
    prepare.add_argument("--media-root", required=True, type=Path, help="folder with your media files")
    prepare.add_argument(
        "--output", type=Path, default=None, help="manifest path (default: where the task reads it)"
    )
    prepare.add_argument(
        "--no-search", action="store_true", help="do not search the media folder by file name"
    )
    prepare.add_argument(
        "--missing-list", type=Path, default=None, help="write every missing file to this JSONL"
    )
    add_include_path(prepare)
    prepare.set_defaults(handler=handle_prepare)
    data.set_defaults(handler=lambda args: data.print_help() or 2)


def handle_prepare(args: argparse.Namespace) -> int:
    from savbench._io import atomic_write_jsonl
    from savbench.data.prepare import missing_rows, prepare_task, summary
    from savbench.tasks import TaskRegistry, default_search_paths

    registry = TaskRegistry(default_search_paths(args.include_path))
    if args.task not in registry.tasks:
        raise SavbenchError(f"unknown task {args.task!r}; run `savbench tasks`")
    report = prepare_task(
        registry.tasks[args.task],
        args.annotations,
        args.media_root,
        args.output,
        search_media=not args.no_search,
    )
    print(summary(report))
    if args.missing_list:
        atomic_write_jsonl(args.missing_list, missing_rows(report))
        print(f"  missing files listed in {args.missing_list}")
    return 0
