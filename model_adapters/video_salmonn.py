"""video-SALMONN, FAVOR and a tiny random video-SALMONN behind the adapter interface.

The model is ``reference_models.video_salmonn``. Model arguments (all strings):

- ``preset``: ``video-salmonn-13b`` / ``favor-13b`` / ``tiny`` (each adapter has its default);
- ``config``: a YAML file with ``preset``, the paths below and ``overrides`` (arguments win);
- ``checkpoint``, ``llm_path``, ``whisper_path``, ``beats_path``, ``eva_path``,
  ``instructblip_path``, ``bert_path``: local checkpoint files and folders;
- ``device`` (``auto``), ``dtype`` (``auto``: bf16 on CUDA, fp32 on CPU), ``batch_size``;
- ``decoding``: ``official`` (default: the preset's beam width, repetition and length penalty;
  the request's max_new_tokens; sampling when the request asks for it) or ``task`` (the
  request's beams too);
- ``num_beams``, ``repetition_penalty``: force these;
- ``random_weights``: ``true`` builds without checkpoint files (speed benchmarks only);
- ``strict``: ``false`` tolerates parameters a file lacks (reported in the fingerprint).

Inputs follow the official pipeline: an image is one frame repeated over the audio's steps (or
30 s without audio); a request without audio gets zero audio features (the official masked-audio
path) and one without video zero visual features.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, ClassVar

import numpy as np

from model_adapters._torch_base import (
    TorchAdapter,
    cut_at_stop,
    dtype_name,
    file_identity,
    parse_bool,
    parse_float,
    parse_int,
)
from savbench.adapters import MODALITIES, Request, SampleFailure

MISSING_STREAMS_NOTE = (
    "a request without audio gets zero audio features and one without video zero visual features "
    "(the official masked-stream path); an image is repeated over the audio's 0.5 s steps (60 steps "
    "without audio); audio past 30 s is not seen; video is sampled at 2 frames per second, first 60 s"
)


class VideoSalmonnAdapter(TorchAdapter):
    """video-SALMONN (ICML 2024) with the released checkpoints."""

    name = "video-salmonn"
    modalities = MODALITIES
    description = "video-SALMONN 13B (in-repo implementation; speech, audio events, video, images)"
    requirements = (
        "model args checkpoint, llm_path, whisper_path, beats_path, eva_path, instructblip_path, "
        "bert_path (local files); a CUDA GPU with ~40 GB for bf16"
    )
    default_preset: ClassVar[str] = "video-salmonn-13b"
    default_batch_size: ClassVar[int] = 4

    def __init__(
        self,
        preset: str | None = None,
        config: str | None = None,
        checkpoint: str | None = None,
        llm_path: str | None = None,
        whisper_path: str | None = None,
        beats_path: str | None = None,
        eva_path: str | None = None,
        instructblip_path: str | None = None,
        bert_path: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: str | None = None,
        decoding: str = "official",
        num_beams: str | None = None,
        repetition_penalty: str | None = None,
        random_weights: str = "false",
        strict: str = "true",
        attn: str = "sdpa",
        seed: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(f"unknown model argument(s) {sorted(unknown)} for {self.name}")
        from reference_models.video_salmonn import ModelFiles, apply_overrides, get_preset, load_config_file

        super().__init__(device, dtype, batch_size if batch_size is not None else self.default_batch_size)
        if config is not None:
            model_config, files, extra = load_config_file(config)
            if extra:
                raise ValueError(f"config {config}: unknown top-level key(s) {sorted(extra)}")
            if preset is not None and preset != model_config.name:
                raise ValueError(
                    f"preset={preset} conflicts with preset {model_config.name!r} in config {config}"
                )
        else:
            try:
                model_config = get_preset(preset or self.default_preset)
            except ValueError as exc:
                raise ValueError(f"preset: {exc}") from None
            files = ModelFiles()
        given = {
            "checkpoint": checkpoint,
            "llm_path": llm_path,
            "whisper_path": whisper_path,
            "beats_path": beats_path,
            "eva_path": eva_path,
            "instructblip_path": instructblip_path,
            "bert_path": bert_path,
        }
        files = dataclasses.replace(files, **{k: v for k, v in given.items() if v is not None})
        if seed is not None:
            model_config = apply_overrides(model_config, {"init_seed": parse_int("seed", seed, 0)}, "seed")
        if decoding not in ("official", "task"):
            raise ValueError(f"decoding must be 'official' or 'task', got {decoding!r}")
        if attn not in ("sdpa", "eager"):
            raise ValueError(f"attn must be 'sdpa' or 'eager', got {attn!r}")
        self.decoding = decoding
        self.num_beams = parse_int("num_beams", num_beams, 1) if num_beams is not None else None
        self.repetition_penalty = (
            parse_float("repetition_penalty", repetition_penalty, 0.0)
            if repetition_penalty is not None
            else model_config.generation.repetition_penalty
        )
        self.random_weights = parse_bool("random_weights", random_weights)
        self.files = files
        self.config = model_config
        self._build(parse_bool("strict", strict), attn)

    def _build(self, strict: bool, attn: str) -> None:
        from reference_models.video_salmonn import build_model

        self.model, self.reports = build_model(
            self.config,
            self.files,
            device=self.device,
            dtype=self.dtype,
            strict=strict,
            random_weights=self.random_weights,
            attn_implementation=attn,
        )

    # -- decoding settings -------------------------------------------------------------------

    def _options(self, request: Request) -> Any:
        from reference_models.video_salmonn import DecodeOptions

        gen = request.generation
        preset = self.config.generation
        if self.num_beams is not None:
            beams = self.num_beams
        elif gen.do_sample:
            beams = 1
        else:
            beams = preset.num_beams if self.decoding == "official" else gen.num_beams
        return DecodeOptions(
            max_new_tokens=gen.max_new_tokens,
            num_beams=beams,
            do_sample=gen.do_sample,
            temperature=gen.temperature if gen.do_sample else 1.0,
            top_p=gen.top_p,
            repetition_penalty=self.repetition_penalty,
            length_penalty=preset.length_penalty,
        )

    # -- requests to samples -----------------------------------------------------------------

    def _sample(self, request: Request) -> Any:
        from reference_models.video_salmonn import AVSample

        audio = request.audio
        if audio is not None:
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim != 1:
                raise ValueError(f"audio: expected mono samples, got shape {audio.shape}")
            if request.sample_rate != self.config.media.sample_rate:
                audio = _resample(audio, request.sample_rate, self.config.media.sample_rate)
        video = request.video
        frames = timestamps = None
        duration = None
        fps = 0.0
        if video is not None and len(video) > 0:
            frames, timestamps = video.frames, video.timestamps
            duration, fps = float(video.duration), float(video.source_fps or 0.0)
        image = request.image if frames is None else None
        if audio is None and frames is None and image is None:
            raise ValueError("the request carries no audio, video or image; the model needs at least one")
        return AVSample(
            prompt=request.prompt,
            audio=audio,
            frames=frames,
            timestamps=timestamps,
            duration=duration,
            source_fps=fps,
            image=image,
        )

    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        outputs: list[str | SampleFailure | None] = [None] * len(requests)
        samples: dict[int, Any] = {}
        for i, request in enumerate(requests):
            try:
                samples[i] = self._sample(request)
            except ValueError as exc:
                outputs[i] = SampleFailure("input", str(exc))
        ready = sorted(samples)

        def key(position: int) -> tuple:
            options = self._options(requests[position])
            # Sampled requests run alone so that each uses its own seed.
            return (options, requests[position].seed if options.do_sample else None)

        groups: dict[tuple, list[int]] = {}
        for position in ready:
            groups.setdefault(key(position), []).append(position)
        for (options, seed), positions in groups.items():
            for start in range(0, len(positions), self.max_batch_size):
                chunk = positions[start : start + self.max_batch_size]
                for position, text in zip(
                    chunk, self._answer([samples[p] for p in chunk], options, seed), strict=True
                ):
                    if isinstance(text, str):
                        text = cut_at_stop(text, requests[position].generation.stop).strip()
                    outputs[position] = text
        return [o if o is not None else SampleFailure("internal", "no output") for o in outputs]

    def _answer(self, samples: list[Any], options: Any, seed: int | None) -> list[str | SampleFailure]:
        """Generate for one chunk; a sample whose media cannot be prepared fails alone."""
        import torch

        try:
            batch = self.model.prepare(samples)
        except ValueError as exc:
            if len(samples) == 1:
                return [SampleFailure("input", str(exc).removeprefix("sample 0: "))]
            return [out for sample in samples for out in self._answer([sample], options, seed)]
        if seed is not None:
            torch.manual_seed(seed)
        return list(self.model.generate(batch, options))

    # -- identity ----------------------------------------------------------------------------

    def fingerprint(self) -> dict[str, Any]:
        config_json = json.dumps(dataclasses.asdict(self.config), sort_keys=True, default=str)
        return {
            "adapter": self.name,
            "preset": self.config.name,
            "config_sha256": hashlib.sha256(config_json.encode()).hexdigest(),
            "files": {k: file_identity(v) for k, v in self.files.as_dict().items()},
            "random_weights": self.random_weights,
            "dtype": dtype_name(self.dtype),
            "device": self.device.type,
            "decoding": self.decoding,
            "num_beams": self.num_beams,
            "repetition_penalty": self.repetition_penalty,
            "missing_keys": {r.role: r.missing for r in self.reports if r.missing},
            "notes": MISSING_STREAMS_NOTE,
        }


def _resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    import torch
    import torchaudio.functional as AF

    wave = torch.from_numpy(np.ascontiguousarray(audio))
    return AF.resample(wave, source, target).numpy().astype(np.float32)


class FavorAdapter(VideoSalmonnAdapter):
    """FAVOR (Sun et al., 2023): single-resolution causal Q-Former over Whisper and video."""

    name = "favor"
    description = "FAVOR 13B (in-repo implementation; speech/audio via Whisper, video, images)"
    requirements = (
        "model args checkpoint, llm_path, whisper_path, eva_path, instructblip_path, bert_path "
        "(local files); a CUDA GPU with ~40 GB for bf16"
    )
    default_preset = "favor-13b"


class VideoSalmonnTinyAdapter(VideoSalmonnAdapter):
    """A tiny randomly initialised video-SALMONN: no files, CPU, deterministic (for harness tests).

    Model arguments: ``seed`` (random init), ``batch_size``, ``device``, ``dtype``, ``decoding``,
    ``num_beams``, ``repetition_penalty``.
    """

    name = "video-salmonn-tiny"
    description = "tiny random video-SALMONN (character tokenizer; offline, deterministic, for tests)"
    requirements = "none"
    default_preset = "tiny"
    default_batch_size = 8

    def __init__(
        self,
        seed: str | None = None,
        batch_size: str | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        decoding: str = "official",
        num_beams: str | None = None,
        repetition_penalty: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(f"unknown model argument(s) {sorted(unknown)} for {self.name}")
        super().__init__(
            preset="tiny",
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            decoding=decoding,
            num_beams=num_beams,
            repetition_penalty=repetition_penalty,
            seed=seed,
        )
