"""Append-only cache of judge calls, keyed by everything that determines the reply."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from savbench._io import json_line


def judge_key(
    model: str,
    template: str,
    template_version: int,
    question: str,
    references: list[str],
    prediction: str,
    *,
    temperature: float = 0.0,
    max_tokens: int = 64,
) -> str:
    """The cache key of one judge call: everything that can change the reply.

    Args:
        model: Judge model name.
        template: Template name.
        template_version: Template version (bumped whenever its text changes).
        question: Question shown to the judge.
        references: Reference answers shown to the judge.
        prediction: The answer being judged.
        temperature: Sampling temperature of the call.
        max_tokens: Reply length limit of the call (a shorter limit can cut the verdict off).
    """
    payload = json.dumps(
        [
            model,
            template,
            template_version,
            question,
            references,
            prediction,
            float(temperature),
            int(max_tokens),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class JudgeCache:
    """JSONL file of {key, reply}; readers skip a torn last line, writers hold a lock per append.

    Args:
        path: The cache file (created on first write).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, str] = {}
        if path.exists():
            for line in path.read_bytes().split(b"\n"):
                try:
                    entry = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("key"), str)
                    and isinstance(entry.get("reply"), str)
                ):
                    self._entries[entry["key"]] = entry["reply"]

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def put_many(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = b"".join(json_line(e) for e in entries)
        with self.path.open("ab") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        for entry in entries:
            self._entries[entry["key"]] = entry["reply"]

    def __len__(self) -> int:
        return len(self._entries)
