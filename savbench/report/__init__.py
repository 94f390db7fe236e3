"""Run reports: results.json + samples.jsonl, the single source every other command reads.

Also the escaping every writer of untrusted text uses (CSV, markdown, terminal).
"""

from savbench._text import csv_cell, markdown_cell, terminal_text, visible, without_surrogates
from savbench.report._environment import environment, git_commit, package_versions
from savbench.report._html import build_html
from savbench.report._read import RunRecord, find_runs, load_run
from savbench.report._write import (
    RESULTS_FILE,
    SAMPLES_FILE,
    predictions_digest,
    sample_rows,
    task_section,
    write_run_files,
)

__all__ = [
    "RESULTS_FILE",
    "RunRecord",
    "SAMPLES_FILE",
    "build_html",
    "csv_cell",
    "environment",
    "find_runs",
    "load_run",
    "markdown_cell",
    "git_commit",
    "package_versions",
    "predictions_digest",
    "sample_rows",
    "task_section",
    "terminal_text",
    "visible",
    "without_surrogates",
    "write_run_files",
]
