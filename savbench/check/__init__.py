"""Regression checks of a run against published numbers or a committed baseline."""

from savbench.check._check import (
    BASELINE_KIND,
    CheckReport,
    CheckRow,
    Reference,
    check_run,
    references_from_file,
    references_from_published,
    report_rows,
    write_baseline,
)

__all__ = [
    "BASELINE_KIND",
    "CheckReport",
    "CheckRow",
    "Reference",
    "check_run",
    "references_from_file",
    "references_from_published",
    "report_rows",
    "write_baseline",
]
