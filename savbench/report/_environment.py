"""What a report records about the software and machine that produced it."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "savbench", "torch", "torchaudio", "transformers", "numpy", "av", "decord", "soundfile",
    "jiwer", "editdistance", "whisper-normalizer", "pycocoevalcap", "datasets", "peft", "vllm", "lmms-eval",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the savbench checkout (with ``-dirty`` when it has local changes), if any."""
    folder = path or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def device_description() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    info: dict[str, Any] = {"cpu": platform.processor() or platform.machine()}
    if torch is not None and torch.cuda.is_available():
        info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda_version"] = torch.version.cuda
    return info


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "device": device_description(),
    }
