"""Small pieces shared by the commands."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence

from savbench._errors import SavbenchError
from savbench._text import terminal_text


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps hand-wrapped descriptions; shows a default only where it tells the reader something."""

    def __init__(self, prog: str) -> None:
        super().__init__(
            prog, max_help_position=30, width=min(100, shutil.get_terminal_size((100, 24)).columns)
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default in ("", [], argparse.SUPPRESS):
            return text
        return f"{text} (default: {default})"


def add_include_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include-path",
        action="append",
        default=[],
        metavar="DIR",
        help="also read task YAMLs from DIR (repeatable; also $SAVBENCH_TASKS_PATH)",
    )


def add_media_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--media-root",
        action="append",
        default=[],
        metavar="TASK=DIR",
        help="media folder of a task, overriding its YAML (repeatable)",
    )


def media_roots(items: Sequence[str]) -> dict[str, str]:
    """``--media-root TASK=DIR`` values as a mapping.

    Raises:
        SavbenchError: A value is not of the form TASK=DIR.
    """
    roots: dict[str, str] = {}
    for item in items:
        task, sep, folder = item.partition("=")
        if not sep or not task or not folder:
            raise SavbenchError(f"--media-root expects TASK=DIR, got {item!r}")
        roots[task] = folder
    return roots


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LLM judge (for llm_judge metrics)")
    group.add_argument(
        "--judge-model", default=None, metavar="NAME", help="judge model name as the endpoint serves it"
    )
    group.add_argument(
        "--judge-base-url",
        default=None,
        metavar="URL",
        help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1",
    )
    group.add_argument(
        "--judge-api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the judge's API key",
    )
    group.add_argument(
        "--judge-concurrency", type=int, default=4, metavar="N", help="judge calls in flight at once"
    )
    group.add_argument(
        "--judge-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds per judge call; a call that takes longer is retried (as are 429 and 5xx replies)",
    )


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain aligned text table that fits the terminal where it can. Cells are shown with
    control characters escaped: they come from files and models, and must not drive the terminal."""
    headers = [terminal_text(h) for h in headers]
    rows = [[terminal_text(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    limit = shutil.get_terminal_size((160, 24)).columns
    if sum(widths) + 2 * len(widths) > limit and widths:
        widths[-1] = max(len(headers[-1]), limit - sum(widths[:-1]) - 2 * len(widths))

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            text = str(cell)
            if i == len(widths) - 1 and len(text) > width:
                text = text[: max(0, width - 1)] + "…"
            out.append(text.ljust(width))
        return "  ".join(out).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in rows]
    return "\n".join(lines)
