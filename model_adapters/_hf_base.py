"""Shared work of the Hugging Face transformers adapters.

A family module says how to load its model and processor (from a local folder or a hub id, or a
tiny random pair built in code) and how to turn a batch of prepared requests into processor
inputs. This base does the rest: model arguments, device and dtype, checks and conversion of the
decoded media, grouping by decoding settings, left-padded batches of at most ``max_batch_size``,
the mapping of generation settings, seeding, decoding and stop strings.

Common model arguments (strings, from ``--model-args``):

- ``pretrained``: local folder or hub id of the weights; or ``preset=tiny`` for a random model
  built in code (no download; for tests and harness timing);
- ``revision``: hub revision (branch, tag or commit);
- ``local_files_only``: never contact the hub (default: true when ``HF_HUB_OFFLINE=1``);
- ``device`` (``auto``), ``dtype`` (``auto``: bf16 on CUDA, fp32 on CPU), ``batch_size``;
- ``attn``: ``sdpa`` (default), ``eager`` or ``flash_attention_2``;
- ``seed``: seed of the tiny model's random weights;
- ``strict``: ``false`` accepts a checkpoint that lacks some of the model's weights (they stay
  random; the fingerprint lists them); by default such a checkpoint is refused;
- ``system``: system message for chat models (``none`` for no system message).
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from model_adapters._torch_base import (
    TorchAdapter,
    cut_at_stop,
    dtype_name,
    file_identity,
    parse_bool,
    parse_int,
)
from savbench.adapters import GenerationSettings, Request, SampleFailure
from savbench.export import clip_fps

if TYPE_CHECKING:
    from PIL.Image import Image

    from savbench.media import VideoClip

PRESETS = ("tiny",)
ATTENTION = ("sdpa", "eager", "flash_attention_2")


@dataclass
class Prepared:
    """One request after its media were checked and converted for a processor.

    Args:
        prompt: The rendered task prompt.
        audio: Mono float32 waveform at the adapter's ``sampling_rate``, or None.
        video: Frames (T, H, W, 3) uint8 with timestamps, or None.
        image: RGB PIL image, or None.
    """

    prompt: str
    audio: np.ndarray | None = None
    video: VideoClip | None = None
    image: Image | None = None

    @property
    def layout(self) -> tuple[bool, bool, bool]:
        """Which streams are present; requests in one model call share a layout."""
        return (self.audio is not None, self.video is not None, self.image is not None)

    @property
    def video_fps(self) -> float:
        """Frames per second of the sampled clip (from its timestamps)."""
        return 1.0 if self.video is None else clip_fps(self.video)


def generation_config(base: Any, settings: GenerationSettings) -> Any:
    """A copy of a model's generation config with the request's decoding settings.

    Only the settings savbench controls are set; with greedy decoding the sampling knobs a
    checkpoint may carry (temperature, top_p, top_k) are cleared so they cannot apply or warn.

    Args:
        base: The model's ``GenerationConfig``.
        settings: The request's decoding settings.
    """
    config = copy.deepcopy(base)
    sampling = settings.do_sample
    config.update(
        max_new_tokens=settings.max_new_tokens,
        max_length=None,
        do_sample=sampling,
        num_beams=settings.num_beams,
        num_return_sequences=1,
        temperature=settings.temperature if sampling else None,
        top_p=settings.top_p if sampling else None,
        top_k=0 if sampling else None,
        repetition_penalty=settings.repetition_penalty if settings.repetition_penalty != 1.0 else None,
        length_penalty=settings.length_penalty if settings.num_beams > 1 else None,
    )
    return config


def resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    """Resample mono audio between integer rates."""
    if source == target:
        return audio
    import torch
    import torchaudio.functional as AF

    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    return AF.resample(wave, source, target).numpy().astype(np.float32)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class HFAdapter(TorchAdapter):
    """Base of the transformers adapters.

    Subclasses set ``name``, ``modalities``, ``hub_id`` and implement :meth:`_load_pretrained`,
    :meth:`_build_tiny` and :meth:`_encode`. Family-specific arguments are parsed in the subclass
    ``__init__`` before it calls this one (which loads the model).

    Attributes:
        hub_id: The reference checkpoint, named in messages and ``savbench models``.
        required: Streams a request must carry (e.g. Whisper needs audio); the others may be absent.
        default_system: System message used unless ``system=`` says otherwise (None: none).
        sampling_rate: Rate the feature extractor expects; audio is resampled to it.
        default_batch_size: ``max_batch_size`` unless ``batch_size=`` is given.
    """

    hub_id: ClassVar[str] = ""
    required: ClassVar[frozenset[str]] = frozenset()
    default_system: ClassVar[str | None] = None
    sampling_rate: ClassVar[int] = 16000
    default_batch_size: ClassVar[int] = 8

    def __init__(
        self,
        pretrained: str | None = None,
        preset: str | None = None,
        revision: str | None = None,
        local_files_only: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: str | None = None,
        attn: str = "sdpa",
        seed: str = "0",
        system: str | None = None,
        strict: str = "true",
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(f"unknown model argument(s) {sorted(unknown)} for {self.name}")
        super().__init__(device, dtype, batch_size if batch_size is not None else self.default_batch_size)
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        if preset is not None and pretrained is not None:
            raise ValueError("pass either pretrained=PATH_OR_HUB_ID or preset=tiny, not both")
        if preset is None and pretrained is None:
            raise ValueError(
                f"{self.name} needs pretrained=PATH_OR_HUB_ID (e.g. pretrained={self.hub_id}) "
                "or preset=tiny for a random test model"
            )
        if attn not in ATTENTION:
            raise ValueError(f"attn must be one of {', '.join(ATTENTION)}, got {attn!r}")
        self.preset = preset
        self.pretrained = pretrained
        self.revision = revision
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        self.local_files_only = (
            parse_bool("local_files_only", local_files_only) if local_files_only is not None else offline
        )
        self.attn = attn
        self.seed = parse_int("seed", seed, minimum=0)
        self.strict = parse_bool("strict", strict)
        self.missing_weights: list[str] = []
        if system is not None and system.strip().lower() == "none":
            self.system: str | None = None
        else:
            self.system = system if system is not None else self.default_system
        self._load()

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        import torch

        if self.preset == "tiny":
            torch.manual_seed(self.seed)
            model, processor = self._build_tiny(self.seed)
            model.to(device=self.device, dtype=self.dtype)
            self.weights: dict[str, Any] = {
                "preset": "tiny",
                "seed": self.seed,
                "config_sha256": _sha256(model.config.to_json_string(use_diff=False)),
            }
        else:
            source = str(self.pretrained)
            kwargs: dict[str, Any] = {"dtype": self.dtype, "attn_implementation": self.attn}
            if self.device.type == "cuda":
                kwargs["device_map"] = str(self.device)
            try:
                model, processor = self._load_pretrained(source, kwargs)
            except (OSError, ValueError, KeyError) as exc:
                where = "folder" if os.path.isdir(source) else "hub id (offline or not cached?)"
                raise ValueError(
                    f"pretrained={source}: cannot load the {self.name} model from this {where}: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            if self.device.type != "cuda":
                model.to(device=self.device)
            self.weights = {
                "pretrained": source,
                "revision": self.revision,
                "commit": getattr(model.config, "_commit_hash", None),
                "files": file_identity(source) if os.path.isdir(source) else None,
                "missing_weights": self.missing_weights,
            }
        self.model = model.eval()
        self.processor = processor
        self.tokenizer.padding_side = "left"

    def _hub_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ``from_pretrained`` call gets."""
        kwargs: dict[str, Any] = {"local_files_only": self.local_files_only}
        if self.revision is not None:
            kwargs["revision"] = self.revision
        return kwargs

    def _from_pretrained(self, cls: Any, source: str, model_kwargs: dict[str, Any], **extra: Any) -> Any:
        """``cls.from_pretrained`` with the common arguments; refuses a checkpoint that leaves
        weights of the model uninitialised (they would be random and the scores meaningless)."""
        model, info = cls.from_pretrained(
            source, **model_kwargs, **self._hub_kwargs(), **extra, output_loading_info=True
        )
        missing = sorted(info.get("missing_keys") or [])
        self.missing_weights = missing
        if missing and self.strict:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise ValueError(
                f"the checkpoint lacks {len(missing)} weight(s) of {cls.__name__}: {shown} "
                "(strict=false runs with them random)"
            )
        return model

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """Load (model, processor) from ``source``; ``model_kwargs`` carry dtype, attention and device
        placement, and :meth:`_hub_kwargs` the revision and offline flag."""
        raise NotImplementedError

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        """Build a tiny random (model, processor) pair in code, with no files."""
        raise NotImplementedError

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    # -- requests ----------------------------------------------------------------------------

    def _prepare(self, request: Request) -> Prepared:
        """Check and convert the streams this model takes; ValueError names the stream and reason."""
        takes = self.modalities
        prepared = Prepared(prompt=request.prompt)
        if takes & {"speech", "audio"} and request.audio is not None:
            audio = np.asarray(request.audio, dtype=np.float32)
            if audio.ndim != 1:
                raise ValueError(f"audio: expected mono samples, got shape {audio.shape}")
            if audio.size == 0:
                raise ValueError("audio: the waveform is empty")
            prepared.audio = resample(audio, request.sample_rate, self.sampling_rate)
        if "video" in takes and request.video is not None:
            if len(request.video) == 0:
                raise ValueError("video: the clip has no frames")
            prepared.video = request.video
        if "image" in takes and request.image is not None:
            from PIL import Image

            image = np.asarray(request.image)
            if image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(f"image: expected an RGB array (H, W, 3), got shape {image.shape}")
            prepared.image = Image.fromarray(image.astype(np.uint8))
        present = {
            name
            for name, value in (
                ("audio", prepared.audio),
                ("video", prepared.video),
                ("image", prepared.image),
            )
            if value is not None
        }
        missing = sorted(self.required - present)
        if missing:
            raise ValueError(f"{self.name} needs {' and '.join(missing)} and the request has none")
        return prepared

    def _batch_key(self, item: Prepared) -> tuple:
        """Items with equal keys may share a model call (by default: the same streams present)."""
        return item.layout

    def _messages(self, item: Prepared) -> list[dict[str, Any]]:
        """A chat conversation for ``item``: the system message, then one user turn with the media
        parts (video, image, audio) before the prompt text."""
        parts: list[dict[str, Any]] = []
        if item.video is not None:
            parts.append({"type": "video"})
        if item.image is not None:
            parts.append({"type": "image"})
        if item.audio is not None:
            parts.append({"type": "audio"})
        parts.append({"type": "text", "text": item.prompt})
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": [{"type": "text", "text": self.system}]})
        messages.append({"role": "user", "content": parts})
        return messages

    def _chat_text(self, item: Prepared) -> str:
        return self.processor.apply_chat_template(
            self._messages(item), add_generation_prompt=True, tokenize=False
        )

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        """Processor outputs (tensors) for one batch of items sharing a layout."""
        raise NotImplementedError

    def _generate_kwargs(self, items: list[Prepared]) -> dict[str, Any]:
        """Extra keyword arguments of ``model.generate`` for this batch."""
        return {}

    def _new_tokens(self, output: Any, inputs: dict[str, Any]) -> Any:
        """The generated ids without the prompt (decoder-only models echo the prompt)."""
        return output[:, inputs["input_ids"].shape[1] :]

    # -- generation --------------------------------------------------------------------------

    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        outputs: list[str | SampleFailure | None] = [None] * len(requests)
        prepared: dict[int, Prepared] = {}
        for i, request in enumerate(requests):
            try:
                prepared[i] = self._prepare(request)
            except ValueError as exc:
                outputs[i] = SampleFailure("input", str(exc))
        groups: dict[tuple, list[int]] = {}
        for i, item in prepared.items():
            settings = requests[i].generation
            # A sampled request runs alone, so that its draw depends on its own seed only.
            alone = i if settings.do_sample else None
            groups.setdefault((settings, alone, self._batch_key(item)), []).append(i)
        for (settings, _, _), positions in groups.items():
            for start in range(0, len(positions), self.max_batch_size):
                chunk = positions[start : start + self.max_batch_size]
                texts = self._generate_chunk([prepared[p] for p in chunk], settings, requests[chunk[0]].seed)
                for position, text in zip(chunk, texts, strict=True):
                    outputs[position] = cut_at_stop(text, requests[position].generation.stop).strip()
        return [o if o is not None else SampleFailure("internal", "no output") for o in outputs]

    def _generate_chunk(self, items: list[Prepared], settings: GenerationSettings, seed: int) -> list[str]:
        import torch

        inputs = self._to_device(self._encode(items))
        config = self._generation_config(settings)
        torch.manual_seed(seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=config, **self._generate_kwargs(items))
        new = self._new_tokens(output, inputs)
        return [text.strip() for text in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def _generation_config(self, settings: GenerationSettings) -> Any:
        config = generation_config(self.model.generation_config, settings)
        if config.eos_token_id is None:
            config.eos_token_id = self.tokenizer.eos_token_id
        if config.pad_token_id is None:
            config.pad_token_id = self.tokenizer.pad_token_id
        return config

    def _to_device(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Tensors onto the model's device; pixels and features (floating, 2-D or more) in the
        model's dtype. Floating vectors (e.g. seconds per video grid) keep their precision."""
        import torch

        moved: dict[str, Any] = {}
        for key, value in dict(inputs).items():
            if isinstance(value, torch.Tensor):
                dtype = self.dtype if value.is_floating_point() and value.dim() >= 2 else None
                moved[key] = value.to(device=self.device, dtype=dtype)
            else:
                moved[key] = value
        return moved

    # -- identity ----------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        """Family-specific settings that change outputs (for the fingerprint)."""
        return {}

    def fingerprint(self) -> dict[str, Any]:
        import transformers

        return {
            "adapter": self.name,
            "weights": self.weights,
            "dtype": dtype_name(self.dtype),
            "device": self.device.type,
            "attn": self.attn,
            "system": self.system,
            "transformers": transformers.__version__,
            **self._options(),
        }
