"""The unit of evaluation: one benchmark item with references to its media."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MediaRef:
    """Where one media stream of a sample comes from.

    Args:
        path: Absolute path of the file, or None when the bytes are held in memory.
        data: Encoded file bytes (e.g. from a Hugging Face dataset with ``decode=False``).
        start: Start of the clip in seconds inside the file, or None for the beginning.
        end: End of the clip in seconds inside the file, or None for the end.
        label: Name used in error messages when there is no path (dataset id and row).
    """

    path: str | None = None
    data: bytes | None = None
    start: float | None = None
    end: float | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        """A human-readable name for error messages."""
        return self.path or self.label or "<in-memory media>"


@dataclass(frozen=True)
class Sample:
    """One benchmark item.

    Args:
        id: Identifier, unique within its task.
        task: Name of the task the sample belongs to.
        audio: The audio (speech or sound) stream, possibly the audio track of a video file.
        video: The video stream.
        image: The still image.
        question: Question or instruction text specific to this sample (may be empty).
        choices: Answer options for multiple-choice tasks, in order.
        references: Reference answers; for multiple choice the text of the correct option.
        cluster: Resampling unit for clustered bootstrap (e.g. the source video id).
        meta: Free metadata carried through to the per-sample report.
    """

    id: str
    task: str
    audio: MediaRef | None = None
    video: MediaRef | None = None
    image: MediaRef | None = None
    question: str = ""
    choices: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    cluster: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
