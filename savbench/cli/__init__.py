"""The ``savbench`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from savbench import __version__
from savbench._errors import SavbenchError
from savbench._text import terminal_text
from savbench.cli import (
    _check,
    _compare,
    _data,
    _export,
    _leaderboard,
    _models,
    _report,
    _rescore,
    _run,
    _tasks,
)

DESCRIPTION = """\
savbench evaluates speech-audio-visual language models on AVEB / SAVE style tasks
(ASR, audio captioning, video QA, audio-visual QA, AV speech recognition, AV matching,
sound-source detection, image spoken QA) and writes scored, reproducible reports."""

EPILOG = """\
examples:
  savbench tasks                                   list tasks and groups
  savbench run --model oracle --tasks mini         score the bundled mini benchmark
  savbench run --model video-salmonn-tiny --tasks mini_asr,mini_avqa --limit 8
  savbench models                                  list model adapters
  savbench leaderboard                             results/leaderboard.csv (+ .md)
  savbench check results/RUN --against published   exit 1 if a score regressed

Run `savbench COMMAND --help` for the options of a command."""

COMMANDS = (_run, _tasks, _models, _data, _leaderboard, _check, _compare, _report, _rescore, _export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="savbench",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"savbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except SavbenchError as exc:
        print(f"savbench: error: {terminal_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "savbench: interrupted; stored predictions are kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `savbench tasks | head`): not an error, and nothing more to print.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
