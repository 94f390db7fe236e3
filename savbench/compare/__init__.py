"""Paired comparison of two runs: differences, paired bootstrap CIs and p-values."""

from savbench.compare._compare import Comparison, compare_runs, paired_statistics
from savbench.compare._reliance import RelianceCell, reliance_table
from savbench.compare._stats import mcnemar_exact, paired_bootstrap_ci, paired_permutation_p

__all__ = [
    "Comparison",
    "RelianceCell",
    "compare_runs",
    "mcnemar_exact",
    "paired_bootstrap_ci",
    "paired_permutation_p",
    "paired_statistics",
    "reliance_table",
]
