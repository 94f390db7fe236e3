"""Savbench tasks for other harnesses, and the shapes their models take (lmms-eval for now)."""

from savbench.export._lmms_export import ExportedTask, ExportError, export_lmms_eval, task_yaml
from savbench.export._lmms_media import (
    VIDEO_MODES,
    clip_fps,
    lmms_gen_kwargs,
    lmms_messages,
    lmms_visuals,
    write_clip,
)
from savbench.export._lmms_tasks import MANIFEST_NAME, ExportedTasks, metric_keys, request_plan

__all__ = [
    "MANIFEST_NAME",
    "VIDEO_MODES",
    "ExportError",
    "ExportedTask",
    "ExportedTasks",
    "clip_fps",
    "export_lmms_eval",
    "lmms_gen_kwargs",
    "lmms_messages",
    "lmms_visuals",
    "metric_keys",
    "request_plan",
    "task_yaml",
    "write_clip",
]
