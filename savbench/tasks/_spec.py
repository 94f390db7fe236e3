"""Task specs: the validated form of a ``tasks/*.yaml`` file.

The YAML vocabulary is small and fixed. It names metrics, answer parsers and prompt helpers by
registered name; it never imports or runs code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Modality = Literal["speech", "audio", "video", "image"]
AnswerKind = Literal["transcript", "caption", "free_text", "multiple_choice", "yes_no"]


class _Strict(BaseModel):
    # inf/NaN would pass the bounds below but cannot be written into results.json
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ManifestSource(_Strict):
    """A local JSONL manifest: one sample per line (see ``savbench.data.manifest``).

    Paths are relative to the YAML file unless absolute. ``media_root`` may also be given at run
    time with ``--media-root TASK=DIR``.
    """

    kind: Literal["manifest"] = "manifest"
    path: str
    media_root: str | None = None


class HFSource(_Strict):
    """A Hugging Face dataset, read through ``datasets`` (offline cache friendly).

    ``columns`` maps savbench sample fields (id, audio, video, image, question, choices,
    references) to dataset column names; ``choices`` may name several columns separated by
    commas (one option per column). ``constants`` gives a field the same value for every row
    (e.g. the fixed option list of a classification task).
    """

    kind: Literal["hf"]
    dataset: str
    config: str | None = None
    split: str
    revision: str | None = None
    columns: dict[str, str]
    constants: dict[str, str | list[str]] = {}

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = {"id", "audio", "video", "image", "question", "choices", "references", "cluster"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"unknown sample field(s) {unknown}; allowed: {sorted(allowed)}")
        if "references" not in value:
            raise ValueError("columns must map 'references'")
        return value

    @field_validator("constants")
    @classmethod
    def _known_constants(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - {"question", "choices"})
        if unknown:
            raise ValueError(f"only question and choices can be constants, not {unknown}")
        return value


class MetricSpec(_Strict):
    """One metric by registered name, with its options (e.g. ``normalizer``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str
    primary: bool = False

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AudioSettings(_Strict):
    sample_rate: int = 16000
    max_seconds: float | None = None


class VideoSettings(_Strict):
    """Frame sampling: ``num_frames`` uniformly over the clip, or ``fps`` capped by ``max_frames``."""

    num_frames: int | None = Field(default=None, ge=1)
    fps: float | None = Field(default=None, gt=0)
    max_frames: int = Field(default=64, ge=1)

    @model_validator(mode="after")
    def _one_rule(self) -> VideoSettings:
        if self.num_frames is not None and self.fps is not None:
            raise ValueError("give either num_frames or fps, not both")
        return self


class MediaSettings(_Strict):
    audio: AudioSettings = AudioSettings()
    video: VideoSettings = VideoSettings(num_frames=8)


class GenerationSpec(_Strict):
    max_new_tokens: int = Field(default=128, ge=1)
    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    num_beams: int = Field(default=1, ge=1)
    repetition_penalty: float = Field(default=1.0, gt=0)
    length_penalty: float = 1.0
    stop: tuple[str, ...] = ()


class PrepareSpec(_Strict):
    """How ``savbench data prepare`` builds this task's manifest from released annotations.

    Args:
        converter: Registered converter name (see ``savbench.data.prepare``).
        annotation_file: File name of the released annotations, looked up inside the folder
            given with ``--annotations`` when that is a folder.
    """

    converter: str
    annotation_file: str


class Reproduces(_Strict):
    """The published number this task reproduces."""

    paper: str
    arxiv: str | None = None
    table: str | None = None
    note: str | None = None


class TaskSpec(_Strict):
    """A validated task.

    Args:
        task: Unique task name.
        description: One or two sentences for ``savbench tasks``.
        modalities: Streams the task needs: speech, audio, video, image.
        source: Where samples come from.
        prompt: Template with ``{question}``, ``{choices}`` (formatted by ``choice_format``) and
            ``{choice_letters}``; unknown placeholders are an error.
        prompt_overrides: Per-model prompt templates (model name -> template), for models whose
            published numbers used their own prompt.
        choice_format: Registered prompt helper that renders ``{choices}``.
        answer: Kind of answer expected.
        parser: Registered answer parser; defaults by answer kind.
        metrics: Metrics by registered name; the first or the one marked ``primary`` leads.
        generation: Decoding settings.
        media: Decoding settings for audio and video.
        audio_from_video: Take the audio stream from the video file when a sample has no
            separate audio file.
        optional_modalities: Streams a sample may lack (e.g. a matching task whose visual side
            is a video for some samples and an image for others).
        prepare: How to build the manifest from released annotations.
        reproduces: Paper and table.
        version: Bumped whenever a change can move a score.
    """

    task: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str
    modalities: tuple[Modality, ...] = Field(min_length=1)
    source: ManifestSource | HFSource = Field(discriminator="kind")
    prompt: str
    prompt_overrides: dict[str, str] = {}
    choice_format: str = "lettered"
    answer: AnswerKind
    parser: str | None = None
    metrics: tuple[MetricSpec, ...] = Field(min_length=1)
    generation: GenerationSpec = GenerationSpec()
    media: MediaSettings = MediaSettings()
    audio_from_video: bool = False
    optional_modalities: tuple[Modality, ...] = ()
    prepare: PrepareSpec | None = None
    reproduces: Reproduces | None = None
    groups: tuple[str, ...] = ()
    version: int = 1

    @field_validator("modalities")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a modality is listed twice")
        return value

    @model_validator(mode="after")
    def _optional_are_declared(self) -> TaskSpec:
        extra = sorted(set(self.optional_modalities) - set(self.modalities))
        if extra:
            raise ValueError(f"optional_modalities {extra} are not among the task's modalities")
        return self

    @property
    def primary_metric(self) -> MetricSpec:
        for metric in self.metrics:
            if metric.primary:
                return metric
        return self.metrics[0]

    @property
    def needs_audio(self) -> bool:
        return "speech" in self.modalities or "audio" in self.modalities


DATA_ENV = "SAVBENCH_DATA"


def data_home() -> Path:
    """Where prepared manifests live: ``$SAVBENCH_DATA``, else ``~/.cache/savbench/data``."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "savbench" / "data").expanduser()


def expand_data_vars(text: str) -> str:
    """Replace ``${SAVBENCH_DATA}`` (with its default when unset) and other environment variables."""
    return os.path.expandvars(text.replace("${" + DATA_ENV + "}", str(data_home())))


class LoadedTask(BaseModel):
    """A task spec together with the file it came from and its content hash."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    spec: TaskSpec
    path: Path

    @property
    def name(self) -> str:
        return self.spec.task

    def resolve(self, relative: str) -> Path:
        """Resolve a path written in the YAML: ``${SAVBENCH_DATA}`` and ``~`` expanded, relative
        paths taken from the YAML file's folder."""
        candidate = Path(expand_data_vars(relative)).expanduser()
        return candidate if candidate.is_absolute() else (self.path.parent / candidate)

    def fingerprint(self) -> str:
        """Hash of everything in the spec that can move a score."""
        payload = json.dumps(self.spec.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
