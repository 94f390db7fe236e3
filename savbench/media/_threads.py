"""How many threads the decoders may use.

Media are decoded in DataLoader worker processes, several at once. If each worker let decord,
FFmpeg and torch start one thread per core, a 2-core machine running 2 workers would juggle
dozens of threads and every decode would get slower. So decoders here use
``decode_threads()`` threads: 1 by default (parallelism comes from the workers), or the value
of the ``SAVBENCH_DECODE_THREADS`` environment variable, or what :func:`set_decode_threads` set.
``configure_worker`` is meant as a DataLoader ``worker_init_fn`` and also caps torch and the
BLAS/OpenMP pools in that worker (PyTorch already sets torch to 1 thread in its workers; the
environment variables matter for libraries that start their pools later).
"""

from __future__ import annotations

import os

_ENV = "SAVBENCH_DECODE_THREADS"
_override: int | None = None


def decode_threads() -> int:
    """Threads a single decode may use (at least 1)."""
    if _override is not None:
        return _override
    try:
        return max(1, int(os.environ.get(_ENV, "1")))
    except ValueError:
        return 1


def set_decode_threads(count: int | None) -> None:
    """Set the decoder thread count for this process.

    Args:
        count: Threads per decode (>= 1), or None to go back to ``SAVBENCH_DECODE_THREADS`` / 1.
    """
    global _override
    if count is not None and count < 1:
        raise ValueError(f"decode thread count must be >= 1, got {count}")
    _override = count


def configure_worker(worker_id: int = 0, threads: int = 1) -> None:
    """Cap every thread pool of a decoding worker process.

    Args:
        worker_id: The DataLoader worker id (unused; present so this fits ``worker_init_fn``).
        threads: Threads for decoders, torch and OpenMP/BLAS pools in this process.
    """
    del worker_id
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    set_decode_threads(threads)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)
