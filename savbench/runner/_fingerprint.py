"""Stable content hashes for run and prediction identity."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(payload: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of ``payload`` (sorted keys), truncated to ``length`` hex digits."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def sample_seed(seed: int, task: str, sample_id: str) -> int:
    """Per-sample seed: depends on the run seed and the sample only, never on batch or rank."""
    # surrogatepass: an id read from JSON may hold an unpaired surrogate; other ids hash as before
    digest = hashlib.sha256(f"{seed}\0{task}\0{sample_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "little")
