"""Finding, loading and validating task specs and groups.

Every ``*.yaml`` below a search path is read: a mapping with ``task:`` is a task, one with
``group:`` is a group. Files whose name starts with ``_`` hold shared defaults that tasks pull in
with ``include:`` and are never tasks themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from savbench._errors import SpecError
from savbench.tasks._prompt import choice_format_names, template_fields
from savbench.tasks._spec import LoadedTask, TaskSpec
from savbench.tasks._yaml import read_yaml

TASKS_PATH_ENV = "SAVBENCH_TASKS_PATH"
MAX_INCLUDE_DEPTH = 8


def bundled_tasks_dir() -> Path:
    """The ``tasks/`` folder shipped next to the ``savbench`` package."""
    return Path(__file__).resolve().parents[2] / "tasks"


def default_search_paths(extra: Sequence[str | Path] = ()) -> list[Path]:
    """Bundled tasks, then ``$SAVBENCH_TASKS_PATH`` entries, then ``extra`` (later ones win)."""
    paths = [bundled_tasks_dir()]
    env = os.environ.get(TASKS_PATH_ENV, "")
    paths += [Path(p) for p in env.split(os.pathsep) if p]
    paths += [Path(p) for p in extra]
    return paths


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve_includes(path: Path, data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    include = data.pop("include", None)
    if include is None:
        return data
    if depth >= MAX_INCLUDE_DEPTH:
        raise SpecError(path, "include", f"includes nest deeper than {MAX_INCLUDE_DEPTH} levels (a cycle?)")
    names = [include] if isinstance(include, str) else include
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError(path, "include", "must be a file name or a list of file names")
    merged: dict[str, Any] = {}
    for name in names:
        try:
            target = (path.parent / name).resolve()
            found = target.is_file()
        except (OSError, ValueError) as exc:  # e.g. a NUL byte in the name
            raise SpecError(path, "include", f"cannot use {name!r} as a file name: {exc}") from None
        if not found:
            raise SpecError(path, "include", f"included file {name!r} not found next to the spec")
        merged = _deep_merge(merged, _resolve_includes(target, read_yaml(target), depth + 1))
    return _deep_merge(merged, data)


def _format_validation_error(path: Path, exc: ValidationError) -> SpecError:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"] if not isinstance(part, int) or True)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SpecError(path, loc or "(top level)", message)


def load_task_file(path: Path) -> LoadedTask:
    """Load and validate one task YAML.

    Raises:
        SpecError: With file, field and reason.
    """
    data = _resolve_includes(path, read_yaml(path))
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise _format_validation_error(path, exc) from None
    _check_references(path, spec)
    return LoadedTask(spec=spec, path=path.resolve())


def _check_references(path: Path, spec: TaskSpec) -> None:
    """Names in the spec must exist in the registries: a typo fails at load time, not mid-run."""
    from savbench.metrics import get_metric, metric_names, parser_names

    for field_name, template in [
        ("prompt", spec.prompt),
        *((f"prompt_overrides.{k}", v) for k, v in spec.prompt_overrides.items()),
    ]:
        try:
            template_fields(template)
        except ValueError as exc:
            raise SpecError(path, field_name, str(exc)) from None
    if spec.choice_format not in choice_format_names():
        raise SpecError(
            path,
            "choice_format",
            f"unknown choice format {spec.choice_format!r}; known: {', '.join(choice_format_names())}",
        )
    if spec.parser is not None and spec.parser not in parser_names():
        raise SpecError(path, "parser", f"unknown parser {spec.parser!r}; known: {', '.join(parser_names())}")
    known = metric_names()
    for i, metric in enumerate(spec.metrics):
        if metric.name not in known:
            raise SpecError(
                path, f"metrics.{i}.name", f"unknown metric {metric.name!r}; known: {', '.join(known)}"
            )
        try:
            get_metric(metric.name, **metric.options())
        except (TypeError, ValueError) as exc:
            raise SpecError(path, f"metrics.{i}", f"bad option for {metric.name!r}: {exc}") from None
    if (
        spec.answer == "multiple_choice"
        and "{choices}" not in spec.prompt
        and "{choice_letters}" not in spec.prompt
    ):
        raise SpecError(path, "prompt", "a multiple-choice prompt must show the options with {choices}")


class TaskRegistry:
    """All task specs and groups found below the search paths.

    Args:
        search_paths: Folders to scan; a task defined twice is an error naming both files.
    """

    def __init__(self, search_paths: Iterable[Path] | None = None) -> None:
        self.search_paths = [
            Path(p) for p in (search_paths if search_paths is not None else default_search_paths())
        ]
        self.tasks: dict[str, LoadedTask] = {}
        self.groups: dict[str, list[str]] = {}
        self.group_descriptions: dict[str, str] = {}
        self._group_files: dict[str, Path] = {}
        self._scan()

    def _scan(self) -> None:
        for root in self.search_paths:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*.yaml")):
                if path.name.startswith("_"):
                    continue
                head = read_yaml(path)
                if "group" in head:
                    self._add_group(path, head)
                elif "task" in head:
                    task = load_task_file(path)
                    if task.name in self.tasks and self.tasks[task.name].path != task.path:
                        raise SpecError(
                            path,
                            "task",
                            f"task {task.name!r} is also defined in {self.tasks[task.name].path}",
                        )
                    self.tasks[task.name] = task
                else:
                    raise SpecError(
                        path, "", "neither a task (no 'task' field) nor a group (no 'group' field)"
                    )
        for task in self.tasks.values():
            for group in task.spec.groups:
                members = self.groups.setdefault(group, [])
                if task.name not in members:
                    members.append(task.name)
        for group, members in self.groups.items():
            for member in members:
                if member not in self.tasks and member not in self.groups:
                    raise SpecError(
                        self._group_files.get(group, "<groups>"), "tasks", f"unknown task or group {member!r}"
                    )

    def _add_group(self, path: Path, data: dict[str, Any]) -> None:
        name = data.get("group")
        members = data.get("tasks")
        unknown = sorted(set(data) - {"group", "description", "tasks"})
        if unknown:
            raise SpecError(path, unknown[0], "unknown field")
        if not isinstance(name, str) or not name:
            raise SpecError(path, "group", "must be a non-empty string")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise SpecError(path, "tasks", "must be a list of task or group names")
        if name in self._group_files and self._group_files[name] != path:
            raise SpecError(path, "group", f"group {name!r} is also defined in {self._group_files[name]}")
        self._group_files[name] = path
        existing = self.groups.setdefault(name, [])
        existing.extend(m for m in members if m not in existing)
        self.group_descriptions[name] = str(data.get("description", ""))

    def expand(self, names: str | Sequence[str]) -> list[LoadedTask]:
        """Resolve task and group names (comma-separated string or list) to tasks, in order, once each.

        Raises:
            KeyError: An unknown name, with the known names.
        """
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        ordered: list[str] = []

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if name in trail:
                raise KeyError(f"group cycle: {' -> '.join((*trail, name))}")
            if name in self.groups:
                for member in self.groups[name]:
                    visit(member, (*trail, name))
            elif name in self.tasks:
                if name not in ordered:
                    ordered.append(name)
            else:
                raise KeyError(
                    f"unknown task or group {name!r}; groups: {', '.join(sorted(self.groups)) or '(none)'}; "
                    f"run `savbench tasks` to list tasks"
                )

        for name in names:
            visit(name, ())
        return [self.tasks[n] for n in ordered]
