"""``savbench export lmms-eval``: savbench tasks as lmms-eval task folders.

For each task the folder gets ``TASK.yaml`` (lmms-eval's vocabulary, hooks as ``!function utils.*``)
and ``TASK.jsonl`` (one row per sample: task, id, question, choices, references). One ``utils.py``
serves every task: it hands each hook to :class:`savbench.export.ExportedTasks`, which reads the
savbench spec and manifest again, so media decoding, prompts and scores are savbench's own.
``savbench_export.json`` records where the specs live and what was exported.

lmms-eval runs them with ``--include_path DIR --tasks TASK`` (savbench must be importable there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from savbench import __version__
from savbench._errors import SavbenchError
from savbench._io import atomic_write_text
from savbench.data import load_task_data
from savbench.export._lmms_media import VIDEO_MODES, lmms_gen_kwargs
from savbench.export._lmms_tasks import FORMAT_VERSION, MANIFEST_NAME, SPLIT, metric_keys
from savbench.metrics import metric_class
from savbench.tasks import LoadedTask, TaskRegistry, default_search_paths

UTILS = '''\
"""Hooks of the savbench tasks in this folder, for lmms-eval (written by `savbench export lmms-eval`).

Each hook hands over to savbench, which reads the task spec and manifest named in
savbench_export.json, decodes media, renders prompts and scores predictions as `savbench run` does.
"""

from pathlib import Path

from savbench.export import ExportedTasks

_TASKS = ExportedTasks.shared(Path(__file__).resolve().parent)

doc_to_visual = _TASKS.doc_to_visual
doc_to_text = _TASKS.doc_to_text
doc_to_messages = _TASKS.doc_to_messages
doc_to_target = _TASKS.doc_to_target
process_results = _TASKS.process_results
aggregate = _TASKS.aggregate
'''


class ExportError(SavbenchError):
    """The export cannot be written (unknown task, unreadable data, unwritable folder)."""


@dataclass
class ExportedTask:
    """One task written by :func:`export_lmms_eval`.

    Args:
        name: Task name (the same in lmms-eval).
        yaml_path: The lmms-eval task file.
        rows: Samples exported.
    """

    name: str
    yaml_path: Path
    rows: int


def _q(value: Any) -> str:
    """A YAML flow scalar (JSON is valid YAML); ASCII escapes, because PyYAML refuses or rewrites
    some characters (C1 controls, lone surrogates) that JSON would write raw."""
    return json.dumps(value, ensure_ascii=True)


def task_yaml(task: LoadedTask, rows_path: Path) -> str:
    """The lmms-eval YAML of one savbench task.

    Args:
        task: The savbench task.
        rows_path: Absolute path of its exported JSONL rows.
    """
    spec = task.spec
    lines = [
        f"# savbench task {task.name} (spec {task.path}, fingerprint {task.fingerprint()}),",
        f"# exported by savbench {__version__}. Hooks and scores come from savbench (utils.py).",
        f"task: {_q(task.name)}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    {SPLIT}: {_q(str(rows_path))}",
        f"test_split: {SPLIT}",
        "output_type: generate_until",
        "doc_to_visual: !function utils.doc_to_visual",
        "doc_to_text: !function utils.doc_to_text",
        "doc_to_messages: !function utils.doc_to_messages",
        "doc_to_target: !function utils.doc_to_target",
        "generation_kwargs:",
    ]
    for key, value in lmms_gen_kwargs(_settings(task)).items():
        lines.append(f"  {key}: {_q(value)}")
    lines += ["process_results: !function utils.process_results", "metric_list:"]
    for spec_metric, key in zip(spec.metrics, metric_keys(task), strict=True):
        higher = metric_class(spec_metric.name).direction == "higher"
        lines += [
            f"  - metric: {_q(key)}",
            "    aggregation: !function utils.aggregate",
            f"    higher_is_better: {'true' if higher else 'false'}",
        ]
    lines += [
        "metadata:",
        f"  version: {_q(spec.version)}",
        f"  savbench_task: {_q(task.name)}",
        f"  savbench_fingerprint: {_q(task.fingerprint())}",
    ]
    return "\n".join(lines) + "\n"


def _settings(task: LoadedTask) -> Any:
    from savbench.adapters import GenerationSettings

    return GenerationSettings(**task.spec.generation.model_dump())


def export_lmms_eval(
    tasks: list[str],
    folder: str | Path,
    *,
    include_paths: list[str] | None = None,
    media_roots: dict[str, str] | None = None,
    video: str = "frames",
    seed: int = 0,
    bootstrap_samples: int = 1000,
) -> list[ExportedTask]:
    """Write lmms-eval task files for savbench tasks.

    Args:
        tasks: Task and group names.
        folder: Output folder (created; files of the same names are replaced).
        include_paths: Extra folders with savbench task YAMLs (as ``--include-path``).
        media_roots: Task name -> media folder overriding the task YAML.
        video: How exported tasks pass video to lmms-eval models: ``frames`` (savbench's sampled
            frames written to an mp4, as ``--model lmms:NAME`` does) or ``file`` (the original file).
        seed: Bootstrap seed of the scores.
        bootstrap_samples: Bootstrap resamples of the scores' confidence intervals.

    Raises:
        ExportError: Unknown task, unreadable samples or an unwritable folder.
    """
    if video not in VIDEO_MODES:
        raise ExportError(f"--video must be one of {', '.join(VIDEO_MODES)}, got {video!r}")
    search_paths = [p.resolve() for p in default_search_paths(include_paths or [])]
    registry = TaskRegistry(search_paths)
    try:
        selected = registry.expand(tasks)
    except KeyError as exc:
        raise ExportError(str(exc.args[0])) from None
    roots = dict(media_roots or {})
    unknown_roots = sorted(set(roots) - {t.name for t in selected})
    if unknown_roots:
        raise ExportError(f"--media-root names task(s) not exported: {', '.join(unknown_roots)}")
    out = Path(folder).expanduser().resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {out}: {exc.strerror or exc}") from None
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "savbench_version": __version__,
        "search_paths": [str(p) for p in search_paths],
        "video": video,
        "seed": seed,
        "bootstrap_samples": bootstrap_samples,
        "tasks": {},
    }
    written: list[ExportedTask] = []
    for task in selected:
        data = load_task_data(task, roots.get(task.name))
        rows_path = out / f"{task.name}.jsonl"
        rows = [
            {
                "savbench_task": task.name,
                "id": s.id,
                "question": s.question,
                "choices": list(s.choices),
                "references": list(s.references),
            }
            for s in data.samples
        ]
        yaml_path = out / f"{task.name}.yaml"
        try:
            atomic_write_text(rows_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            atomic_write_text(yaml_path, task_yaml(task, rows_path))
        except OSError as exc:
            raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
        manifest["tasks"][task.name] = {
            "spec_path": str(task.path),
            "spec_fingerprint": task.fingerprint(),
            "source_id": data.source_id,
            "media_root": roots.get(task.name),
            "samples": len(rows),
        }
        written.append(ExportedTask(name=task.name, yaml_path=yaml_path, rows=len(rows)))
    try:
        atomic_write_text(out / "utils.py", UTILS)
        atomic_write_text(out / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    return written
