"""Child-process driver for crash and concurrency tests: arm one kill (or pause) point, then run
the CLI.

    python -c "from tests.runner.crash_driver import drive; drive()" POINT N savbench-args...

A point wraps one harness function at run time, so production code carries no test hooks.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHILD = "from tests.runner.crash_driver import drive; drive()"
MARKER_ENV = "CRASH_DRIVER_MARKER"  # gate file: created when a gate is reached, removed to go on


def _kill_self(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _on_call(owner: object, name: str, nth: int, *actions: Callable[..., Any]) -> None:
    """Wrap ``owner.name`` so that its ``nth`` call first runs ``actions`` with its arguments."""
    original = getattr(owner, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            for action in actions:
                action(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _arm(point: str, nth: int) -> None:
    import tempfile

    import model_adapters.baselines as baselines
    import savbench._io as io
    import savbench.runner._run as runner
    from savbench.store import PredictionStore

    if point == "load":  # while the model is being built, before the first batch
        _on_call(runner, "build_adapter", nth, _kill_self)
    elif point == "batch":  # before the nth batch: nth - 1 batches are stored
        _on_call(runner, "_process_batch", nth, _kill_self)
    elif point in ("append-half", "append-newline"):  # inside a store append, payload partly on disk

        def torn_append(store: PredictionStore, rows: list[dict]) -> None:
            payload = b"".join(io.json_line(row) for row in rows)
            cut = len(payload) // 2 if point == "append-half" else len(payload) - 1
            store._handle.write(payload[:cut])
            store._handle.flush()
            os.fsync(store._handle.fileno())

        _on_call(PredictionStore, "append", nth, torn_append, _kill_self)
    elif point == "score":  # scoring the nth task, every prediction stored
        _on_call(runner, "score_task", nth, _kill_self)
    elif point == "write":  # the nth atomic write (1: samples.jsonl, 2: results.json), temp half written

        def half_written(path: Path, data: bytes) -> None:
            fd, _ = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.write(fd, data[: len(data) // 2])
            os.fsync(fd)

        _on_call(io, "atomic_write_bytes", nth, half_written, _kill_self)
    elif point in ("gate-batch", "gate-score"):  # hold the nth call until the test opens the gate

        def wait_at_gate(*_args: Any, **_kwargs: Any) -> None:
            gate = Path(os.environ[MARKER_ENV])
            gate.touch()
            deadline = time.monotonic() + 120
            while gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)

        target = "_process_batch" if point == "gate-batch" else "score_task"
        _on_call(runner, target, nth, wait_at_gate)
    elif point == "slow":  # no kill: a slower model, for kills from outside
        original = baselines.ChanceAdapter.generate

        def slow(self: Any, requests: list[Any]) -> list[str]:
            time.sleep(0.06)
            return original(self, requests)

        baselines.ChanceAdapter.generate = slow
    else:
        raise ValueError(point)


def drive() -> None:
    """Child process entry: ``drive POINT N savbench-args...``."""
    point, nth, *argv = sys.argv[1:]
    _arm(point, int(nth))
    from savbench.cli import main

    sys.exit(main(argv))
