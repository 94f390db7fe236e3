"""Running a model on tasks: decoding in workers, batching, the store, resume, the report."""

from savbench.runner._config import ABLATIONS, RunConfig, parse_kv, redact
from savbench.runner._fingerprint import fingerprint, sample_seed
from savbench.runner._run import RunOutcome, check_writable, run, run_folder

__all__ = [
    "ABLATIONS",
    "RunConfig",
    "RunOutcome",
    "check_writable",
    "fingerprint",
    "parse_kv",
    "redact",
    "run",
    "run_folder",
    "sample_seed",
]
