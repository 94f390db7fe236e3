"""Error types shared across packages; each message names the file, the field and the reason."""

from __future__ import annotations

from pathlib import Path


class SavbenchError(Exception):
    """Base class of every error savbench raises on purpose (the CLI prints these without a traceback)."""


class SpecError(SavbenchError):
    """A task spec, group file or manifest is malformed.

    Args:
        path: The file at fault.
        field: The field (dotted path, or ``line N`` for JSONL) at fault; empty for whole-file errors.
        reason: What is wrong.
    """

    def __init__(self, path: str | Path, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        super().__init__(where + reason)


class RunError(SavbenchError):
    """A run cannot start or continue (bad arguments, unwritable output, lock held, ...)."""
