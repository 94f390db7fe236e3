"""Task specs (YAML, validated) and groups."""

from savbench.tasks._prompt import (
    LETTERS,
    choice_format_names,
    register_choice_format,
    render_prompt,
    template_fields,
)
from savbench.tasks._registry import (
    TASKS_PATH_ENV,
    TaskRegistry,
    bundled_tasks_dir,
    default_search_paths,
    load_task_file,
)
from savbench.tasks._spec import (
    HFSource,
    LoadedTask,
    ManifestSource,
    MetricSpec,
    TaskSpec,
)

__all__ = [
    "LETTERS",
    "TASKS_PATH_ENV",
    "HFSource",
    "LoadedTask",
    "ManifestSource",
    "MetricSpec",
    "TaskRegistry",
    "TaskSpec",
    "bundled_tasks_dir",
    "choice_format_names",
    "default_search_paths",
    "load_task_file",
    "register_choice_format",
    "render_prompt",
    "template_fields",
]
