"""Record what reaches the model during runs: every request each run's adapter receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import savbench.runner._run as runner_module


@dataclass
class Seen:
    """Copies of the streams of one request."""

    audio: np.ndarray | None
    frames: np.ndarray | None
    timestamps: np.ndarray | None
    image: np.ndarray | None


@dataclass
class RunSeen:
    """One run's adapter: how often ``generate`` was called and the requests by (task, sample id)."""

    calls: int = 0
    requests: dict[tuple[str, str], Seen] = field(default_factory=dict)


@contextmanager
def recording() -> Iterator[list[RunSeen]]:
    """Wrap the adapter every run builds; yields one :class:`RunSeen` per run, in run order."""
    runs: list[RunSeen] = []
    build = runner_module.build_adapter

    def build_and_wrap(name: str, args: dict[str, Any]) -> Any:
        adapter = build(name, args)
        generate = adapter.generate
        seen = RunSeen()
        runs.append(seen)

        def recorded(requests: list[Any]) -> list[str]:
            seen.calls += 1
            for r in requests:
                video = r.video
                seen.requests[(r.sample.task, r.sample.id)] = Seen(
                    audio=None if r.audio is None else np.array(r.audio),
                    frames=None if video is None else np.array(video.frames),
                    timestamps=None if video is None else np.array(video.timestamps),
                    image=None if r.image is None else np.array(r.image),
                )
            return generate(requests)

        adapter.generate = recorded
        return adapter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner_module, "build_adapter", build_and_wrap)
        yield runs
