"""Resource figures for benchmarks: peak resident memory of this process and its children, and
GPU busy time sampled from ``nvidia-smi`` (what it calls utilization.gpu: the share of each
sample period during which at least one kernel was running).

Linux only for memory (``/proc``); on other systems the memory figures are None.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

PROC = Path("/proc")


def _status_kib(pid: int | str, field_name: str) -> int | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (``VmHWM``); False where the system cannot."""
    try:
        (PROC / "self" / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float | None:
    """Peak resident memory of this process since the last reset, MiB."""
    kib = _status_kib("self", "VmHWM")
    return None if kib is None else kib / 1024


def children_rss_mib() -> float | None:
    """Resident memory of this process's live child processes (decoding workers), MiB."""
    total = 0
    seen = False
    for children in (PROC / "self" / "task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:
            continue
        for pid in pids:
            kib = _status_kib(pid, "VmRSS")
            if kib is not None:
                total += kib
                seen = True
    return total / 1024 if seen else (0.0 if PROC.is_dir() else None)


def parse_smi_line(line: str) -> tuple[float, float] | None:
    """``2026/01/31 12:00:00.250, 87`` -> (epoch seconds, 87.0); None for anything else."""
    stamp, _, value = line.strip().rpartition(",")
    try:
        when = datetime.strptime(stamp.strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
        return when, float(value)
    except ValueError:
        return None


def _gpu_query_target() -> str:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return visible or "0"


@dataclass
class Monitor:
    """Samples child-process memory and GPU utilisation on a background thread.

    Args:
        interval_s: Sampling period.
        gpu: Sample GPU utilisation (needs ``nvidia-smi``).
    """

    interval_s: float = 0.1
    gpu: bool = False
    gpu_samples: list[tuple[float, float]] = field(default_factory=list)
    children_peak_mib: float = 0.0
    gpu_tool: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _smi: subprocess.Popen | None = None

    def __enter__(self) -> Monitor:
        self._threads.append(threading.Thread(target=self._memory_loop, daemon=True))
        if self.gpu:
            smi = shutil.which("nvidia-smi")
            if smi is not None:
                period = max(50, int(self.interval_s * 1000))
                command = [smi, "--query-gpu=timestamp,utilization.gpu", "--format=csv,noheader,nounits"]
                self._smi = subprocess.Popen(
                    [*command, "-lms", str(period), "-i", _gpu_query_target()],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                self.gpu_tool = "nvidia-smi"
                self._threads.append(threading.Thread(target=self._smi_loop, daemon=True))
            else:
                self.gpu_tool = "torch.cuda.utilization"
                self._threads.append(threading.Thread(target=self._torch_loop, daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._smi is not None:
            self._smi.terminate()
            try:
                self._smi.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._smi.kill()
        for thread in self._threads:
            thread.join(timeout=5)

    def _memory_loop(self) -> None:
        while not self._stop.is_set():
            current = children_rss_mib()
            if current is not None:
                self.children_peak_mib = max(self.children_peak_mib, current)
            self._stop.wait(self.interval_s)

    def _smi_loop(self) -> None:
        assert self._smi is not None and self._smi.stdout is not None
        # Lines can arrive in buffered bursts, so each carries the time nvidia-smi took it.
        for line in self._smi.stdout:
            sample = parse_smi_line(line)
            if sample is not None:
                self.gpu_samples.append(sample)
            if self._stop.is_set():
                break

    def _torch_loop(self) -> None:
        import torch

        while not self._stop.is_set():
            try:
                value = float(torch.cuda.utilization())
            except Exception:  # pynvml missing or no NVML: no figure rather than a wrong one
                self.gpu_tool = None
                return
            self.gpu_samples.append((time.time(), value))
            self._stop.wait(self.interval_s)

    def gpu_busy(self, start: float, end: float) -> float | None:
        """Mean GPU utilisation (0-1) over samples taken between ``start`` and ``end``
        (``time.time()`` values), or None without samples."""
        inside = [value for t, value in self.gpu_samples if start <= t <= end]
        return sum(inside) / len(inside) / 100 if inside else None
