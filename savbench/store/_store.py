"""The append-only prediction store.

Each rank of a run appends JSON lines to its own file ``predictions/rank-<r>.jsonl`` and flushes
and fsyncs after every batch, so a killed run loses at most the batch in flight. Rows are keyed
by (prediction key, task, sample id); the prediction key is a fingerprint of everything that can
change an output (model, task spec, data, generation settings, seed, ablation). Reading merges
every rank file, so resuming does not depend on how many ranks ran before.

A line torn by a crash (no trailing newline, or not a complete JSON object) is dropped and the
file is truncated back to the last complete row before new rows are appended.

The lock is an ``flock`` on ``rank-<r>.lock``. Processes forked while a store is open (decoding
workers) close their copies of its files at once: an inherited descriptor would keep the lock
held after the run itself was killed, and refuse the rerun that should resume it.
"""

from __future__ import annotations

import fcntl
import json
import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from savbench._errors import RunError
from savbench._io import json_line

StoreKey = tuple[str, str, str]  # (prediction key, task, sample id)
REQUIRED_FIELDS = ("key", "task", "id")


@dataclass
class ReadReport:
    """What reading the store found besides good rows."""

    torn_lines: int = 0
    duplicate_rows: int = 0


def _scan_file(path: Path, report: ReadReport) -> tuple[list[dict[str, Any]], int]:
    """Parse a store file; returns its rows and the byte length of the intact prefix."""
    rows: list[dict[str, Any]] = []
    data = path.read_bytes()
    good_end = 0
    position = 0
    while position < len(data):
        newline = data.find(b"\n", position)
        if newline == -1:
            report.torn_lines += 1  # last line never got its newline: a write was cut
            break
        line = data[position:newline]
        position = newline + 1
        if not line.strip():
            good_end = position
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            report.torn_lines += 1
            break  # nothing after a torn line can be trusted
        if not isinstance(row, dict) or any(field not in row for field in REQUIRED_FIELDS):
            report.torn_lines += 1
            break
        rows.append(row)
        good_end = position
    return rows, good_end


_OPEN_STORES: weakref.WeakSet[PredictionStore] = weakref.WeakSet()


def _drop_inherited_handles() -> None:
    # Runs in a freshly forked child: close its copies only (no LOCK_UN, which would free the
    # parent's lock too); the parent's descriptors keep the lock. Both buffers are empty here
    # (every append flushes), so closing writes nothing.
    for store in list(_OPEN_STORES):
        for handle in (store._handle, store._lock_handle):
            if handle is not None:
                try:
                    handle.close()
                except OSError:
                    pass
        store._handle = store._lock_handle = None
    _OPEN_STORES.clear()


os.register_at_fork(after_in_child=_drop_inherited_handles)


class PredictionStore:
    """Append-only store of predictions for one run folder.

    Args:
        run_dir: The run folder.
        rank: This process's rank; it appends only to its own file.
    """

    def __init__(self, run_dir: Path, rank: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.rank = rank
        self.folder = self.run_dir / "predictions"
        self.path = self.folder / f"rank-{rank}.jsonl"
        self._handle: Any = None
        self._lock_handle: Any = None
        self.torn_lines_repaired = 0

    def open(self) -> PredictionStore:
        """Take this rank's lock and repair a torn tail before appending.

        Raises:
            RunError: Another process holds the lock, or the folder is not writable.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock_handle = open(self.folder / f"rank-{self.rank}.lock", "a+")
        except OSError as exc:
            raise RunError(f"cannot write predictions to {self.folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_handle.seek(0)
            holder = self._lock_handle.read().strip() or "another process"
            self._lock_handle.close()
            self._lock_handle = None
            raise RunError(
                f"{self.run_dir} is in use by {holder}; wait for it to finish or give this run "
                f"another --output-dir or --run-name"
            ) from None
        self._lock_handle.seek(0)
        self._lock_handle.truncate()
        self._lock_handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        self._lock_handle.flush()
        if self.path.exists():
            found = ReadReport()
            _, good_end = _scan_file(self.path, found)
            if good_end < self.path.stat().st_size:
                self.torn_lines_repaired += found.torn_lines
                with self.path.open("r+b") as handle:
                    handle.truncate(good_end)
                    handle.flush()
                    os.fsync(handle.fileno())
        self._handle = self.path.open("ab")
        _OPEN_STORES.add(self)
        return self

    def __enter__(self) -> PredictionStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and make them durable before returning."""
        if self._handle is None:
            raise RuntimeError("store is not open")
        payload = b"".join(json_line(row) for row in rows)
        if not payload:
            return
        self._handle.write(payload)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        _OPEN_STORES.discard(self)
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None


def iter_store_files(run_dir: Path) -> Iterator[Path]:
    folder = Path(run_dir) / "predictions"
    if folder.is_dir():
        yield from sorted(folder.glob("rank-*.jsonl"))


def read_predictions(run_dir: Path, report: ReadReport | None = None) -> dict[StoreKey, dict[str, Any]]:
    """Every complete row of every rank file, keyed by (key, task, id).

    When two rows share a key, a prediction replaces an earlier error (a retried sample);
    otherwise the first row read wins and the duplicate is counted in ``report``.
    """
    report = report if report is not None else ReadReport()
    merged: dict[StoreKey, dict[str, Any]] = {}
    for path in iter_store_files(run_dir):
        rows, _ = _scan_file(path, report)
        for row in rows:
            key = (row["key"], row["task"], str(row["id"]))
            previous = merged.get(key)
            if previous is not None and not (previous.get("error") and not row.get("error")):
                report.duplicate_rows += 1
                continue
            merged[key] = row
    return merged
