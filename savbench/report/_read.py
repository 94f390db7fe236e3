"""Reading run folders back: the one reader every command (leaderboard, check, compare, report) uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from savbench._errors import SavbenchError
from savbench.report._write import FORMAT_VERSION, RESULTS_FILE, SAMPLES_FILE


@dataclass
class RunRecord:
    """A finished run folder.

    Args:
        path: The run folder.
        results: The parsed results.json.
    """

    path: Path
    results: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id", self.path.name))

    @property
    def model(self) -> str:
        return str(self.results["model"]["name"])

    @property
    def tasks(self) -> dict[str, Any]:
        return self.results["tasks"]

    def samples(self) -> Iterator[dict[str, Any]]:
        """Rows of samples.jsonl, in order."""
        path = self.path / SAMPLES_FILE
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise SavbenchError(f"{path}: cannot read: {exc.strerror or exc}") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SavbenchError(f"{path}: line {number}: invalid JSON: {exc.msg}") from None


def load_run(path: str | Path) -> RunRecord:
    """Open a run folder (or its results.json).

    Raises:
        SavbenchError: No results.json (the run never finished), invalid JSON, or a newer format.
    """
    path = Path(path)
    folder = path.parent if path.name == RESULTS_FILE else path
    results_path = folder / RESULTS_FILE
    if not results_path.is_file():
        raise SavbenchError(f"{folder}: no {RESULTS_FILE} (not a run folder, or the run has not finished)")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavbenchError(f"{results_path}: cannot read: {exc}") from None
    version = results.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SavbenchError(f"{results_path}: format_version {version!r} is not one this savbench reads")
    for field in ("model", "tasks"):
        if field not in results:
            raise SavbenchError(f"{results_path}: {field}: missing")
    return RunRecord(path=folder, results=results)


def find_runs(root: str | Path) -> list[RunRecord]:
    """Every finished run folder directly below ``root`` (or ``root`` itself), oldest first."""
    root = Path(root)
    if (root / RESULTS_FILE).is_file():
        return [load_run(root)]
    runs = [load_run(p.parent) for p in sorted(root.glob(f"*/{RESULTS_FILE}"))]
    return sorted(runs, key=lambda r: (str(r.results.get("created_at", "")), r.run_id))
