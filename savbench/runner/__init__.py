"""Running a model on tasks: decoding in workers, batching, the store, resume, the report."""

from savbench.runner._config import ABLATIONS, RunConfig, parse_kv, redact
from savbench.runner._distributed import World, current_world, owns, pin_cuda_device
from savbench.runner._fingerprint import fingerprint, sample_seed
from savbench.runner._pipeline import iterate_decoded, plan_batches
from savbench.runner._requests import Decoded, DecodeFailure, RequestDataset, RequestPlan, build_request
from savbench.runner._run import TIMING_DEFINITIONS, RunOutcome, check_writable, run, run_folder

__all__ = [
    "ABLATIONS",
    "TIMING_DEFINITIONS",
    "DecodeFailure",
    "Decoded",
    "RequestDataset",
    "RequestPlan",
    "RunConfig",
    "RunOutcome",
    "World",
    "build_request",
    "check_writable",
    "current_world",
    "fingerprint",
    "iterate_decoded",
    "owns",
    "parse_kv",
    "pin_cuda_device",
    "plan_batches",
    "redact",
    "run",
    "run_folder",
    "sample_seed",
]
