"""From a sample to a decoded request, inside DataLoader worker processes.

Decoding errors never escape: they become :class:`DecodeFailure` values that the runner turns
into error rows, so one corrupt file costs one sample, not the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savbench.adapters import GenerationSettings, Request
from savbench.data import MediaRef, Sample
from savbench.media import MediaError, VideoClip, load_audio, load_image, load_video
from savbench.runner._fingerprint import sample_seed
from savbench.tasks import render_prompt

ABLATABLE = ("audio", "video", "image")
VIDEO_FILL_MODES = ("mean", "first")


@dataclass(frozen=True)
class RequestPlan:
    """Everything needed to turn a sample of one task into a request (picklable for workers).

    Args:
        task: Task name.
        prompt_template: The template in force for this model (override or default).
        choice_format: Registered renderer of the options.
        decode_audio: Whether to decode the audio stream.
        audio_from_video: Take audio from the video file when the sample has no audio file.
        sample_rate: Target audio sample rate.
        max_audio_seconds: Audio cap, or None.
        decode_video: Whether to decode video frames.
        video_settings: Keyword arguments for ``load_video`` (num_frames / fps / max_frames).
        decode_image: Whether to decode the image.
        modalities: The streams this request carries (task modalities the model consumes).
        generation: Decoding settings.
        seed: Run seed.
        ablate: Streams replaced by neutral input.
        video_fill: How an ablated video is filled: ``mean`` colour of the clip or ``first`` frame.
        optional: Streams (audio, video, image) a sample may lack without being an error.
        preprocess: The adapter's worker-side preparation (``Request -> Request``, picklable),
            run right after decoding so that model-specific CPU work (feature extraction, pixel
            transforms) also happens ahead of the model, in the decoding workers.
    """

    task: str
    prompt_template: str
    choice_format: str
    decode_audio: bool
    audio_from_video: bool
    sample_rate: int
    max_audio_seconds: float | None
    decode_video: bool
    video_settings: dict[str, Any]
    decode_image: bool
    modalities: frozenset[str]
    generation: GenerationSettings
    seed: int
    ablate: frozenset[str] = frozenset()
    video_fill: str = "mean"
    optional: frozenset[str] = frozenset()
    preprocess: Callable[[Request], Request] | None = None


@dataclass
class DecodeFailure:
    """A sample whose media could not be decoded."""

    sample: Sample
    prompt: str
    kind: str
    message: str
    file: str | None = None


@dataclass
class Decoded:
    """What a worker hands back: the request (or the failure) and how long decoding took."""

    item: Request | DecodeFailure
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def sample(self) -> Sample:
        return self.item.sample


def _neutral_video(clip: VideoClip, mode: str) -> VideoClip:
    if mode == "first":
        frames = np.repeat(clip.frames[:1], len(clip), axis=0)
    else:
        colour = clip.frames.reshape(-1, clip.frames.shape[-1]).mean(axis=0).round().astype(np.uint8)
        frames = np.broadcast_to(colour, clip.frames.shape).copy()
    return VideoClip(
        frames=frames, timestamps=clip.timestamps.copy(), duration=clip.duration, source_fps=clip.source_fps
    )


def _neutral_image(image: np.ndarray) -> np.ndarray:
    colour = image.reshape(-1, image.shape[-1]).mean(axis=0).round().astype(np.uint8)
    return np.broadcast_to(colour, image.shape).copy()


def _audio_ref(sample: Sample, plan: RequestPlan) -> MediaRef | None:
    if sample.audio is not None:
        return sample.audio
    if plan.audio_from_video and sample.video is not None:
        return sample.video
    return None


def _missing(sample: Sample, prompt: str, stream: str) -> DecodeFailure:
    return DecodeFailure(sample, prompt, "missing_media", f"the task needs {stream} and the sample has none")


def build_request(sample: Sample, plan: RequestPlan) -> Decoded:
    """Render the prompt and decode the streams the plan asks for."""
    prompt = render_prompt(
        plan.prompt_template,
        question=sample.question,
        choices=sample.choices,
        choice_format=plan.choice_format,
    )
    audio = video = image = None
    current: str | None = None
    timings: dict[str, float] = {}
    present: set[str] = set()
    try:
        if plan.decode_audio:
            ref = _audio_ref(sample, plan)
            if ref is not None:
                current = ref.name
                start = time.perf_counter()
                audio = load_audio(ref, sample_rate=plan.sample_rate, max_seconds=plan.max_audio_seconds)
                timings["audio_decode_s"] = time.perf_counter() - start
                if "audio" in plan.ablate:
                    audio = np.zeros_like(audio)
                present |= {"audio", "speech"}
            elif "audio" not in plan.optional:
                return Decoded(_missing(sample, prompt, "audio"))
        if plan.decode_video:
            if sample.video is not None:
                current = sample.video.name
                start = time.perf_counter()
                video = load_video(sample.video, **plan.video_settings)
                timings["video_decode_s"] = time.perf_counter() - start
                if "video" in plan.ablate:
                    video = _neutral_video(video, plan.video_fill)
                present.add("video")
            elif "video" not in plan.optional:
                return Decoded(_missing(sample, prompt, "video"))
        if plan.decode_image:
            if sample.image is not None:
                current = sample.image.name
                start = time.perf_counter()
                image = load_image(sample.image)
                timings["image_decode_s"] = time.perf_counter() - start
                if "image" in plan.ablate:
                    image = _neutral_image(image)
                present.add("image")
            elif "image" not in plan.optional:
                return Decoded(_missing(sample, prompt, "image"))
    except MediaError as exc:
        return Decoded(DecodeFailure(sample, prompt, "media", str(exc), file=exc.path), timings)
    except Exception as exc:  # a decoder bug must not end the run; the row keeps the reason
        failure = DecodeFailure(
            sample, prompt, "decode", f"{current}: {type(exc).__name__}: {exc}", file=current
        )
        return Decoded(failure, timings)
    request = Request(
        sample=sample,
        prompt=prompt,
        modalities=frozenset(plan.modalities & present) if plan.optional else plan.modalities,
        audio=audio,
        sample_rate=plan.sample_rate,
        video=video,
        image=image,
        generation=plan.generation,
        seed=sample_seed(plan.seed, plan.task, sample.id),
    )
    if plan.preprocess is not None:
        start = time.perf_counter()
        try:
            request = plan.preprocess(request)
        except Exception as exc:  # the adapter's preparation failed on this sample only
            failure = DecodeFailure(sample, prompt, "prepare", f"{type(exc).__name__}: {exc}")
            return Decoded(failure, timings)
        timings["prepare_s"] = time.perf_counter() - start
    return Decoded(request, timings)


class RequestDataset:
    """A map-style dataset of pending samples; items are requests or decode failures.

    It is a plain class with ``__len__``/``__getitem__`` so torch's DataLoader can use it without
    savbench importing torch at module import time.

    Args:
        samples: The samples, possibly of several tasks.
        plan: The plan of every sample, or one plan per sample (samples of several tasks share
            one dataset, so decoding workers start once per run, not once per task).
    """

    def __init__(self, samples: list[Sample], plan: RequestPlan | Sequence[RequestPlan]) -> None:
        plans = [plan] * len(samples) if isinstance(plan, RequestPlan) else list(plan)
        if len(plans) != len(samples):
            raise ValueError(f"{len(samples)} samples but {len(plans)} plans")
        self.samples = samples
        self.plans = plans

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Decoded:
        return build_request(self.samples[index], self.plans[index])
