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
- ``strict``: ``false`` tolerates parameters a file lacks (reported in the fingerprint);
- ``min_new_tokens``: end of sequence is forbidden before this many tokens (fixed-length
  benchmarks);
- ``backend``: ``hf`` (transformers' generate, default) or ``vllm`` (the LLM in a vLLM engine fed
  with the projected audio-visual embeddings as prompt embeddings, LoRA applied per request;
  greedy or sampling only, so it needs ``num_beams=1``); ``vllm_memory`` (share of GPU memory
  vLLM may take, default 0.5), ``vllm_dir`` (where the LoRA, and the base weights of a random
  model, are exported; a temporary folder by default), ``vllm_eager`` (no CUDA graphs);
- ``prepare_in_workers``: ``auto`` (on with CUDA), ``true`` or ``false``: compute Whisper
  features and frame pixels in the runner's decoding workers instead of between GPU batches.

Inputs follow the official pipeline: an image is one frame repeated over the audio's steps (or
30 s without audio); a request without audio gets zero audio features (the official masked-audio
path) and one without video zero visual features.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
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
BACKENDS = ("hf", "vllm")


@dataclass
class GenerationTrace:
    """What the adapter records while its ``trace`` attribute is set (benchmarks, profiling).

    Args:
        times: Seconds per model stage, summed over calls (``prepare_s``, encoders,
            ``qformer_s``, ``projection_s``, ``llm_prefill_s``/``llm_decode_s`` or, for vLLM,
            ``llm_generate_s``); None records no times (stage timing synchronises the GPU at
            every stage boundary).
        tokens: New token ids per sample id (up to and including end of sequence).
        batch_sizes: Size of every model batch.
    """

    times: dict[str, float] | None = field(default_factory=dict)
    tokens: dict[str, list[int]] = field(default_factory=dict)
    batch_sizes: list[int] = field(default_factory=list)


@dataclass
class PreparedRequest(Request):
    """A request whose model inputs were computed in a decoding worker (frames and image dropped:
    ``prepared`` holds their pixels)."""

    prepared: Any = None


def request_sample(request: Request, sample_rate: int) -> Any:
    """The :class:`~reference_models.video_salmonn.AVSample` of a decoded request.

    Raises:
        ValueError: Malformed audio, or no audio, video or image at all.
    """
    from reference_models.video_salmonn import AVSample

    audio = request.audio
    if audio is not None:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"audio: expected mono samples, got shape {audio.shape}")
        if request.sample_rate != sample_rate:
            audio = _resample(audio, request.sample_rate, sample_rate)
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


class WorkerPrepare:
    """Worker-side preparation (picklable): a decoded request becomes a :class:`PreparedRequest`
    carrying its one-sample ``PreparedBatch``. A request it cannot prepare is returned unchanged,
    so that the adapter reports the reason as that sample's input error.

    Args:
        preprocessor: The model's ``Preprocessor``.
        sample_rate: The model's audio rate.
        dtype: The model's half-precision dtype, or None. Pixels and log-mel features are cast to
            it here (the encoders cast them to it anyway), which halves what crosses from the
            worker to the model; waveforms stay float32.
    """

    def __init__(self, preprocessor: Any, sample_rate: int, dtype: Any = None) -> None:
        self.preprocessor = preprocessor
        self.sample_rate = sample_rate
        self.dtype = dtype

    def __call__(self, request: Request) -> Request:
        try:
            prepared = self.preprocessor([request_sample(request, self.sample_rate)])
        except ValueError:
            return request
        if self.dtype is not None:
            if prepared.pixels is not None:
                prepared.pixels = prepared.pixels.to(self.dtype)
            if prepared.mel is not None:
                prepared.mel = prepared.mel.to(self.dtype)
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(Request)}
        return PreparedRequest(**{**fields, "video": None, "image": None}, prepared=prepared)


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
        min_new_tokens: str = "0",
        backend: str = "hf",
        vllm_memory: str = "0.5",
        vllm_dir: str | None = None,
        vllm_eager: str = "false",
        prepare_in_workers: str = "auto",
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
        self.min_new_tokens = parse_int("min_new_tokens", min_new_tokens, 0)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if prepare_in_workers == "auto":
            self.prepare_in_workers = self.device.type == "cuda"
        else:
            self.prepare_in_workers = parse_bool("prepare_in_workers", prepare_in_workers)
        self.files = files
        self.config = model_config
        self.trace: GenerationTrace | None = None
        self._vllm_workdir: str | None = None
        if backend == "vllm":
            self._check_vllm()
        self._build(parse_bool("strict", strict), attn)
        if backend == "vllm":
            self.llm = self._vllm_backend(
                vllm_dir, parse_float("vllm_memory", vllm_memory, 0.0), parse_bool("vllm_eager", vllm_eager)
            )
        else:
            from reference_models.video_salmonn import HFBackend

            self.llm = HFBackend(self.model.llm)

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

    # -- LLM back ends -----------------------------------------------------------------------

    def _check_vllm(self) -> None:
        """Fail before loading weights when the vLLM back end cannot run."""
        from reference_models.video_salmonn import import_vllm

        if self.device.type != "cuda":
            raise ValueError("backend=vllm needs a CUDA device")
        beams = self.num_beams if self.num_beams is not None else self.config.generation.num_beams
        if beams != 1:
            raise ValueError(
                f"backend=vllm has no beam search; the preset decodes with {beams} beams, so pass num_beams=1"
            )
        try:
            import_vllm()
        except ImportError as exc:
            raise ValueError(str(exc)) from None

    def _vllm_backend(self, workdir: str | None, memory: float, eager: bool) -> Any:
        """Export the LoRA (and random base weights), free the torch LLM's layers, start vLLM."""
        import torch
        from torch import nn

        from reference_models.video_salmonn import VllmBackend

        if workdir is None:
            workdir = self._vllm_workdir = tempfile.mkdtemp(prefix="savbench-vllm-")
        backend = VllmBackend.from_model(
            self.model,
            workdir,
            llm_path=None if self.random_weights else self.files.llm_path,
            gpu_memory_utilization=memory,
            enforce_eager=eager,
            seed=self.config.init_seed,
        )
        # Only the embedding table is still needed in torch (to embed the prompt text).
        self.model.llm.model.layers = nn.ModuleList()
        self.model.llm.lm_head = nn.Identity()
        torch.cuda.empty_cache()
        return backend

    def worker_preprocessor(self) -> WorkerPrepare | None:
        """Preparation the runner runs in its decoding workers (see ``prepare_in_workers``)."""
        if not self.prepare_in_workers:
            return None
        import torch

        half = self.dtype if self.dtype in (torch.bfloat16, torch.float16) else None
        return WorkerPrepare(self.model.preprocessor, self.config.media.sample_rate, half)

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
            min_new_tokens=min(self.min_new_tokens, gen.max_new_tokens),
        )

    # -- requests to samples -----------------------------------------------------------------

    def _sample(self, request: Request) -> Any:
        return request_sample(request, self.config.media.sample_rate)

    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        outputs: list[str | SampleFailure | None] = [None] * len(requests)
        inputs: dict[int, Any] = {}
        for i, request in enumerate(requests):
            if isinstance(request, PreparedRequest) and request.prepared is not None:
                inputs[i] = request.prepared
                continue
            try:
                inputs[i] = self._sample(request)
            except ValueError as exc:
                outputs[i] = SampleFailure("input", str(exc))

        def key(position: int) -> tuple:
            options = self._options(requests[position])
            # Sampled requests run alone so that each uses its own seed.
            return (options, requests[position].seed if options.do_sample else None)

        groups: dict[tuple, list[int]] = {}
        for position in sorted(inputs):
            groups.setdefault(key(position), []).append(position)
        for (options, seed), positions in groups.items():
            for start in range(0, len(positions), self.max_batch_size):
                chunk = positions[start : start + self.max_batch_size]
                ids = [requests[p].sample.id for p in chunk]
                answers = self._answer([inputs[p] for p in chunk], options, seed, ids)
                for position, text in zip(chunk, answers, strict=True):
                    if isinstance(text, str):
                        text = cut_at_stop(text, requests[position].generation.stop).strip()
                    outputs[position] = text
        return [o if o is not None else SampleFailure("internal", "no output") for o in outputs]

    def _prepare(self, items: list[Any]) -> Any:
        """One batch from raw samples and/or batches prepared in workers."""
        from reference_models.video_salmonn import PreparedBatch, merge_batches

        if not any(isinstance(item, PreparedBatch) for item in items):
            return self.model.prepare(items)
        return merge_batches([i if isinstance(i, PreparedBatch) else self.model.prepare([i]) for i in items])

    def _answer(
        self, items: list[Any], options: Any, seed: int | None, ids: list[str]
    ) -> list[str | SampleFailure]:
        """Generate for one chunk; a sample whose media cannot be prepared fails alone."""
        import torch

        trace = self.trace
        times = trace.times if trace is not None else None
        start = time.perf_counter()
        try:
            batch = self._prepare(items)
        except ValueError as exc:
            if len(items) == 1:
                return [SampleFailure("input", str(exc).removeprefix("sample 0: "))]
            return [
                out
                for item, sid in zip(items, ids, strict=True)
                for out in self._answer([item], options, seed, [sid])
            ]
        if times is not None:
            times["prepare_s"] = times.get("prepare_s", 0.0) + time.perf_counter() - start
        if seed is not None:
            torch.manual_seed(seed)
        embeds, _ = self.model.encode(batch, times)
        tok = self.model.tokenizer
        rows = self.llm.generate(
            embeds.inputs_embeds,
            embeds.attention_mask,
            options,
            tok.eos_token_id,
            tok.pad_token_id,
            times,
            seed,
        )
        if trace is not None:
            trace.batch_sizes.append(len(items))
            for sid, row in zip(ids, rows, strict=True):
                trace.tokens[sid] = row[: row.index(tok.eos_token_id) + 1] if tok.eos_token_id in row else row
        return [self.model.decode_tokens(row) for row in rows]

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
            "min_new_tokens": self.min_new_tokens,
            "backend": self.llm.name,
            "repetition_penalty": self.repetition_penalty,
            "missing_keys": {r.role: r.missing for r in self.reports if r.missing},
            "notes": MISSING_STREAMS_NOTE,
        }

    def close(self) -> None:
        self.llm.close()
        if self._vllm_workdir is not None:
            shutil.rmtree(self._vllm_workdir, ignore_errors=True)
            self._vllm_workdir = None
        super().close()


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
    ``num_beams``, ``repetition_penalty``, ``min_new_tokens``, ``prepare_in_workers``.
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
        min_new_tokens: str = "0",
        prepare_in_workers: str = "auto",
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
            min_new_tokens=min_new_tokens,
            prepare_in_workers=prepare_in_workers,
        )
