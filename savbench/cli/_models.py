"""``savbench models``: list model adapters."""

from __future__ import annotations

import argparse
from typing import Any

from savbench.adapters import adapter_names, get_adapter_class
from savbench.cli._common import HelpFormatter, table


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "models",
        help="list model adapters",
        description="List model adapters with the streams they take and what they need to run.",
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    rows = []
    for name in adapter_names():
        try:
            cls = get_adapter_class(name)
        except Exception as exc:  # an adapter whose optional dependency is missing still gets listed
            rows.append([name, "?", f"unavailable: {type(exc).__name__}: {exc}", ""])
            continue
        rows.append([name, "+".join(sorted(cls.modalities)), cls.requirements or "-", cls.description or ""])
    print(table(rows, ["model", "modalities", "needs", "description"]))
    return 0
