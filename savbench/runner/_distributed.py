"""Data parallelism across processes (``torchrun`` or ``accelerate launch``).

Each rank takes the pending samples whose stable hash falls on it, writes its own store file,
and waits at a barrier; rank 0 then reads every rank's rows and writes the one report. Which
samples are pending is read from the merged store, so a run can be resumed with a different
number of ranks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def current_world() -> World:
    """Rank and world size from the launcher's environment (single process when unset)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"inconsistent launcher environment: RANK={rank} WORLD_SIZE={size}")
    return World(rank=rank, size=size, local_rank=local)


def owns(world: World, task: str, sample_id: str) -> bool:
    """Whether this rank processes the sample (stable across runs and machines)."""
    if world.size == 1:
        return True
    digest = hashlib.sha256(
        f"{task}\0{sample_id}".encode("utf-8", "surrogatepass")
    ).digest()  # as sample_seed
    return int.from_bytes(digest[:8], "little") % world.size == world.rank


def pin_cuda_device(world: World) -> int | None:
    """Make this rank's GPU the current CUDA device, so ``cuda`` in model arguments means the
    rank's own GPU (local rank, round robin when ranks outnumber GPUs).

    Returns:
        The device index, or None for a single process or a machine without CUDA.
    """
    if world.size == 1:
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    index = world.local_rank % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return index


class ProcessGroup:
    """A gloo process group used only for barriers (works on CPU and next to NCCL users)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._owned = False
        if world.size == 1:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="gloo", timeout=timedelta(hours=6))
            self._owned = True

    def barrier(self) -> None:
        if self.world.size == 1:
            return
        import torch.distributed as dist

        dist.barrier()

    def all_gather(self, value: Any) -> list[Any]:
        if self.world.size == 1:
            return [value]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world.size
        dist.all_gather_object(gathered, value)
        return gathered

    def close(self) -> None:
        if self._owned:
            import torch.distributed as dist

            dist.destroy_process_group()
            self._owned = False
