"""Shared plumbing for adapters that run a torch model in this process: parsing model arguments,
choosing device and dtype, grouping a batch by decoding settings, and identifying weight files.

Torch is imported lazily so that listing adapters stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from savbench.adapters import Adapter

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = ("auto", "fp32", "bf16", "fp16")


def parse_bool(name: str, value: str | bool) -> bool:
    """``true/false/1/0/yes/no`` to bool; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def parse_int(name: str, value: str | int, minimum: int | None = None) -> int:
    """An integer model argument, at least ``minimum``."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def parse_float(name: str, value: str | float, minimum: float | None = None) -> float:
    """A float model argument, above ``minimum``."""
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number <= minimum:
        raise ValueError(f"{name} must be > {minimum}, got {number}")
    return number


def parse_device(value: str) -> torch.device:
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    text = str(value).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={value}: CUDA is not available on this machine")
        try:
            return torch.device(text)
        except RuntimeError:
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}") from None
    raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")


def parse_dtype(value: str, device: torch.device) -> torch.dtype:
    """``auto`` (bf16 on CUDA, fp32 on CPU), ``fp32``, ``bf16`` or ``fp16``."""
    import torch

    text = str(value).strip().lower()
    if text not in DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {value!r}")
    if text == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[text]
    if device.type == "cpu" and dtype != torch.float32:
        raise ValueError(f"dtype={text} on CPU is not supported; use fp32 (or run on CUDA)")
    return dtype


def dtype_name(dtype: torch.dtype) -> str:
    import torch

    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def file_identity(path: str | None) -> dict[str, Any] | None:
    """Path, size and modification time of a file, or of every file in a folder (cheap weight
    identity for run fingerprints; hashing tens of gigabytes would be too slow)."""
    if path is None:
        return None
    target = Path(path)
    if not target.exists():
        return {"path": str(target), "exists": False}
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    return {
        "path": str(target.resolve()),
        "files": {
            str(p.relative_to(target) if target.is_dir() else p.name): [
                p.stat().st_size,
                int(p.stat().st_mtime),
            ]
            for p in files
        },
    }


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """``text`` up to the first stop string."""
    for stop in stops:
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    return text


class TorchAdapter(Adapter):
    """Base for adapters of in-process torch models: keeps the parsed device, dtype and batch
    size, and releases CUDA memory on close."""

    def __init__(self, device: str = "auto", dtype: str = "auto", batch_size: str | int = 1) -> None:
        self.device = parse_device(device)
        self.dtype = parse_dtype(dtype, self.device)
        self.max_batch_size = parse_int("batch_size", batch_size, minimum=1)

    def close(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.empty_cache()
