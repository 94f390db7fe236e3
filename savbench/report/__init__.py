"""Run reports: results.json + samples.jsonl, the single source every other command reads."""

from savbench.report._environment import environment, git_commit, package_versions
from savbench.report._write import RESULTS_FILE, SAMPLES_FILE, sample_rows, task_section, write_run_files

__all__ = [
    "RESULTS_FILE",
    "SAMPLES_FILE",
    "environment",
    "git_commit",
    "package_versions",
    "sample_rows",
    "task_section",
    "write_run_files",
]
