"""``savbench tasks``: list tasks and groups."""

from __future__ import annotations

import argparse
import json
from typing import Any

from savbench._errors import SavbenchError
from savbench.cli._common import HelpFormatter, add_include_path, table
from savbench.tasks import TaskRegistry, default_search_paths

JUDGED = frozenset({"llm_judge"})


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "tasks",
        help="list tasks and groups",
        description="List tasks with their modalities, metrics, sample count and whether their data is here.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--group", default=None, help="only tasks of this group")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_include_path(parser)
    parser.set_defaults(handler=handle)


def task_rows(registry: TaskRegistry, group: str | None) -> list[dict[str, Any]]:
    from savbench.data import data_present, load_task_data

    tasks = registry.expand(group) if group else [registry.tasks[n] for n in sorted(registry.tasks)]
    rows = []
    for task in tasks:
        present = data_present(task)
        count: int | None = None
        problem = ""
        if present:
            try:
                count = len(load_task_data(task).samples)
            except SavbenchError as exc:
                problem = str(exc)
        spec = task.spec
        rows.append(
            {
                "task": task.name,
                "modalities": list(spec.modalities),
                "answer": spec.answer,
                "metrics": [m.name for m in spec.metrics],
                "judge_scored": any(m.name in JUDGED for m in spec.metrics),
                "samples": count,
                "data_present": present and not problem,
                "problem": problem,
                "groups": sorted(g for g, members in registry.groups.items() if task.name in members),
                "reproduces": spec.reproduces.model_dump() if spec.reproduces else None,
            }
        )
    return rows


def handle(args: argparse.Namespace) -> int:
    registry = TaskRegistry(default_search_paths(args.include_path))
    try:
        rows = task_rows(registry, args.group)
    except KeyError as exc:
        raise SavbenchError(str(exc.args[0])) from None
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    body = [
        [
            r["task"],
            "+".join(r["modalities"]),
            ",".join(m + ("*" if m in JUDGED else "") for m in r["metrics"]),
            "-" if r["samples"] is None else str(r["samples"]),
            "yes" if r["data_present"] else ("ERROR" if r["problem"] else "no"),
            ",".join(r["groups"]),
        ]
        for r in rows
    ]
    print(table(body, ["task", "modalities", "metrics", "samples", "data", "groups"]))
    for r in rows:
        if r["problem"]:
            print(f"\n{r['task']}: {r['problem']}")
    if any(m in JUDGED for r in rows for m in r["metrics"]):
        print(
            "\n* scored by an LLM judge by default (open-ended answers; docs/catalogue.md says what the papers"
            " used): pass --judge-model and --judge-base-url to `savbench run` or `savbench rescore`"
        )
    groups = [args.group] if args.group else sorted(registry.groups)
    if groups:
        print("\ngroups: " + "; ".join(f"{g} ({len(registry.expand(g))} tasks)" for g in groups))
    return 0
