"""Building task manifests from released annotation files and the user's media folder."""

from savbench.data.prepare import _audiocaps, _save  # noqa: F401  (registers the converters)
from savbench.data.prepare._prepare import PrepareReport, annotation_path, missing_rows, prepare_task, summary
from savbench.data.prepare._registry import converter_names, get_converter, register_converter

__all__ = [
    "PrepareReport",
    "annotation_path",
    "converter_names",
    "get_converter",
    "missing_rows",
    "prepare_task",
    "register_converter",
    "summary",
]
