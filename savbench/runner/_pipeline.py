"""Decoding ahead of the model: batches of decoded requests from DataLoader worker processes.

One loader serves every task of a run (each batch holds samples of one task), so the workers
start once and keep decoding across task boundaries while the model works on the batch before.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence

from savbench.data import Sample
from savbench.runner._requests import Decoded, RequestDataset


def plan_batches(
    pending: Sequence[Sequence[Sample]], batch_size: int, *, cost=None
) -> tuple[list[Sample], list[int], list[list[int]]]:
    """Lay out the samples of several tasks as one dataset and its batches.

    Args:
        pending: Per task, the samples to run, in task order.
        batch_size: Samples per batch; a batch never mixes tasks.
        cost: Optional key; when given, each task's samples are sorted by it so that a batch
            holds samples of similar size.

    Returns:
        The flat sample list, the task position of each sample, and the batches (index lists
        into the flat list), task after task.
    """
    samples: list[Sample] = []
    owners: list[int] = []
    batches: list[list[int]] = []
    for task_index, task_samples in enumerate(pending):
        ordered = sorted(task_samples, key=cost) if cost is not None else list(task_samples)
        first = len(samples)
        samples.extend(ordered)
        owners.extend([task_index] * len(ordered))
        for start in range(0, len(ordered), batch_size):
            batches.append(list(range(first + start, first + min(start + batch_size, len(ordered)))))
    return samples, owners, batches


def iterate_decoded(
    dataset: RequestDataset,
    batches: Sequence[Sequence[int]],
    *,
    num_workers: int,
    prefetch_factor: int = 2,
) -> Iterator[list[Decoded]]:
    """Decode ``dataset`` batch by batch, in the order of ``batches``.

    Args:
        dataset: The requests to build.
        batches: Index lists into ``dataset``.
        num_workers: Decoding processes (0: decode in this process, one batch at a time).
        prefetch_factor: Batches each worker decodes ahead of the consumer.
    """
    if num_workers == 0 or not batches:
        for batch in batches:
            yield [dataset[i] for i in batch]
        return
    import torch
    from torch.utils.data import DataLoader

    # Forking a process that already holds a CUDA context is unsafe.
    context = "spawn" if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    loader = DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_sampler=[list(b) for b in batches],
        num_workers=min(num_workers, len(batches)),
        prefetch_factor=prefetch_factor,
        collate_fn=list,
        worker_init_fn=functools.partial(_init_worker, parent=os.getpid()),
        multiprocessing_context=context,
    )
    yield from loader


def _init_worker(_: int, parent: int | None = None) -> None:
    # Decoders each start thread pools; on a small machine N workers x M threads thrash.
    import torch

    if parent is not None:
        _exit_with_parent(parent)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _exit_with_parent(parent: int) -> None:
    """Linux: end this worker when the run is killed. Otherwise a worker blocked on a full queue
    outlives a SIGKILLed run for good, holding its memory."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
