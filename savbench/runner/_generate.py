"""Calling an adapter on a batch, with graceful degradation.

A batch that raises is split in halves and retried, down to single samples; a sample that fails
alone becomes an error row. Out-of-memory errors take the same path (the cache is emptied first),
which gives the retry-smaller-then-one-then-record behaviour without a special case.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from savbench.adapters import Adapter, Request, SampleFailure

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The result for one request."""

    request: Request
    prediction: str | None
    error_kind: str | None = None
    error_message: str | None = None
    batch_size: int = 1


@dataclass
class GenerateStats:
    """Counters for the report."""

    adapter_seconds: float = 0.0
    adapter_calls: int = 0
    split_retries: int = 0
    oom_retries: int = 0
    contract_violations: int = 0
    notes: list[str] = field(default_factory=list)


def _is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _describe_outputs(outputs: object, expected: int) -> str:
    if not isinstance(outputs, list):
        return f"returned a {type(outputs).__name__}, not a list of {expected} strings"
    if len(outputs) != expected:
        return f"returned {len(outputs)} outputs for {expected} requests"
    bad = next(o for o in outputs if not isinstance(o, (str, SampleFailure)))
    return f"returned a {type(bad).__name__} among its outputs (expected str or SampleFailure)"


def _release_device_memory() -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def generate_batch(
    adapter: Adapter, requests: list[Request], stats: GenerateStats, *, strict: bool = False
) -> list[Outcome]:
    """Run ``adapter.generate`` on ``requests`` and return one outcome per request, in order.

    Args:
        adapter: The model.
        requests: The batch.
        stats: Counters updated in place.
        strict: Re-raise the first failure instead of recording it.
    """
    start = time.perf_counter()
    stats.adapter_calls += 1
    try:
        outputs = adapter.generate(requests)
        if (
            not isinstance(outputs, list)
            or len(outputs) != len(requests)
            or not all(isinstance(o, (str, SampleFailure)) for o in outputs)
        ):
            stats.contract_violations += 1
            raise ValueError(
                f"adapter {adapter.name!r} broke its contract: {_describe_outputs(outputs, len(requests))}"
            )
    except Exception as exc:
        stats.adapter_seconds += time.perf_counter() - start
        if strict:
            raise
        oom = _is_out_of_memory(exc)
        if oom:
            _release_device_memory()
        if len(requests) == 1:
            kind = "out_of_memory" if oom else "adapter"
            return [Outcome(requests[0], None, kind, f"{type(exc).__name__}: {exc}")]
        if oom:
            stats.oom_retries += 1
        stats.split_retries += 1
        log.warning("batch of %d failed (%s: %s); retrying in halves", len(requests), type(exc).__name__, exc)
        half = len(requests) // 2
        return generate_batch(adapter, requests[:half], stats, strict=strict) + generate_batch(
            adapter, requests[half:], stats, strict=strict
        )
    stats.adapter_seconds += time.perf_counter() - start
    outcomes = []
    for request, output in zip(requests, outputs, strict=True):
        if isinstance(output, SampleFailure):
            if strict:
                raise RuntimeError(f"{request.sample.id}: {output.kind}: {output.message}")
            outcomes.append(Outcome(request, None, output.kind, output.message, batch_size=len(requests)))
        else:
            outcomes.append(Outcome(request, output, batch_size=len(requests)))
    return outcomes
