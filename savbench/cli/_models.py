"""``savbench models``: list model adapters."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from savbench.adapters import adapter_names, get_adapter_class
from savbench.cli._common import HelpFormatter


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "models",
        help="list model adapters",
        description="List model adapters with the streams they take and what they need to run.",
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # One block per adapter: the "needs" text is a sentence and does not fit a table column.
    width = max(len(name) for name in adapter_names())
    for name in adapter_names():
        try:
            cls = get_adapter_class(name)
        except Exception as exc:  # an adapter whose optional dependency is missing still gets listed
            print(f"{name:<{width}}  ?\n{'':<{width}}  unavailable: {type(exc).__name__}: {exc}\n")
            continue
        indent = " " * (width + 2)
        print(f"{name:<{width}}  {'+'.join(sorted(cls.modalities))}")
        if cls.description:
            print(textwrap.fill(cls.description, 100, initial_indent=indent, subsequent_indent=indent))
        print(textwrap.fill(f"needs: {cls.requirements or 'nothing'}", 100, initial_indent=indent,
                            subsequent_indent=indent + "       "))  # fmt: skip
        print()
    print("Adapter arguments go in --model-args k=v,... (e.g. preset=tiny).")
    print("lmms:NAME runs the lmms-eval model class NAME (lmms extra).")
    return 0
