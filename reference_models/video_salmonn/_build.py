"""Build a model from a configuration and local checkpoint files.

Nothing is downloaded: every file comes from a path the user gives. Parts without a file keep
their seeded random initialisation (only allowed with ``random_weights=True`` for presets that
use real tokenizers, so a missing path is never silently ignored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import LlamaForCausalLM, PreTrainedModel, WhisperConfig
from transformers.utils import logging as hf_logging

from reference_models.video_salmonn._checkpoint import (
    CheckpointError,
    LoadReport,
    as_state_dict,
    load_official_tensors,
    read_checkpoint,
    read_hf_weights,
    read_json,
)
from reference_models.video_salmonn._config import BeatsConfig, ModelFiles, VideoSalmonnConfig
from reference_models.video_salmonn._model import VideoSalmonn, llama_config
from reference_models.video_salmonn._tokenizer import (
    CharInstructionTokenizer,
    CharTokenizer,
    HFInstructionTokenizer,
    HFTextTokenizer,
)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def beats_config_from_checkpoint(cfg: object, path: str) -> BeatsConfig:
    """BeatsConfig from the ``cfg`` dict of a BEATs checkpoint (unknown training-only fields
    such as ``layer_wise_gradient_decay_ratio`` are skipped)."""
    if not isinstance(cfg, dict):
        raise CheckpointError(path, "beats_path: the checkpoint has no 'cfg' dict", key="cfg")
    known = {f.name: f for f in dataclasses.fields(BeatsConfig)}
    values = {}
    for key, value in cfg.items():
        if key in known and key not in ("dropout", "attention_dropout", "activation_dropout"):
            default = getattr(BeatsConfig(), key)
            if isinstance(default, bool) != isinstance(value, bool) or not isinstance(
                value, type(default) | int
            ):
                raise CheckpointError(
                    path, f"beats_path: cfg value {value!r} has the wrong type", key=f"cfg.{key}"
                )
            values[key] = type(default)(value)
    return BeatsConfig(**values)


def _required_files(config: VideoSalmonnConfig) -> tuple[str, ...]:
    names = ["checkpoint", "llm_path", "whisper_path", "eva_path", "instructblip_path"]
    if config.beats is not None:
        names.append("beats_path")
    if config.tokenizer == "hf":
        names.append("bert_path")
    return tuple(names)


def _lora_or_new(key: str) -> bool:
    return key.startswith(("sync.", "proj.")) or ".lora_A." in key or ".lora_B." in key


def build_model(
    config: VideoSalmonnConfig,
    files: ModelFiles | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    strict: bool = True,
    random_weights: bool = False,
    attn_implementation: str = "sdpa",
) -> tuple[VideoSalmonn, list[LoadReport]]:
    """Build the model and load the checkpoints.

    Args:
        config: Preset or customised configuration.
        files: Local checkpoint paths.
        device: Where the model lives.
        dtype: Parameter dtype (float32 on CPU; bfloat16 or float16 on CUDA).
        strict: Fail when a file lacks parameters it should provide.
        random_weights: Allow missing files (random init from ``config.init_seed``); without
            real tokenizer files, character tokenizers stand in (for speed benchmarks).
        attn_implementation: LLM attention (``sdpa`` or ``eager``).

    Returns:
        The model in eval mode, and one report per loaded file.

    Raises:
        ValueError: A required path is missing (naming the argument).
        CheckpointError: A file is unusable (naming the file and key).
    """
    files = files or ModelFiles()
    if config.tokenizer == "hf" and not random_weights:
        absent = [name for name in _required_files(config) if getattr(files, name) is None]
        if absent:
            raise ValueError(
                f"preset {config.name} needs these paths: {', '.join(absent)} "
                "(or random_weights=true for a randomly initialised model)"
            )
    device = torch.device(device)
    if config.tokenizer == "hf" and files.llm_path is not None:
        tokenizer = HFTextTokenizer(files.llm_path)
    else:
        tokenizer = CharTokenizer()
    if config.tokenizer == "hf" and files.bert_path is not None:
        instruction_tokenizer = HFInstructionTokenizer(files.bert_path)
    else:
        instruction_tokenizer = CharInstructionTokenizer()
    if instruction_tokenizer.vocab_size > config.visual_qformer.vocab_size:
        raise ValueError(
            f"the instruction tokenizer has {instruction_tokenizer.vocab_size} tokens but "
            f"visual_qformer.vocab_size is {config.visual_qformer.vocab_size}"
        )

    whisper_config = None
    if files.whisper_path is not None:
        read_json(Path(files.whisper_path) / "config.json", "whisper_path")
        whisper_config = WhisperConfig.from_pretrained(files.whisper_path, local_files_only=True)
    beats_obj = None
    beats_config = None
    if config.beats is not None and files.beats_path is not None:
        beats_obj = read_checkpoint(files.beats_path, "beats_path")
        if not isinstance(beats_obj, dict):
            raise CheckpointError(files.beats_path, "beats_path: expected a dict with 'cfg' and 'model'")
        beats_config = beats_config_from_checkpoint(beats_obj.get("cfg"), files.beats_path)

    reports: list[LoadReport] = []
    llm: PreTrainedModel | None = None
    if files.llm_path is not None:
        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            llm, info = LlamaForCausalLM.from_pretrained(
                files.llm_path,
                dtype=dtype,
                local_files_only=True,
                attn_implementation=attn_implementation,
                output_loading_info=True,
            )
        finally:
            if was_enabled:
                hf_logging.enable_progress_bar()
        missing = [k for k in info.get("missing_keys", []) if "rotary_emb" not in k]
        reports.append(
            LoadReport(
                file=files.llm_path,
                role="llm_path",
                loaded=[k for k in llm.state_dict() if k not in missing],
                missing=sorted(missing),
                unexpected=sorted(info.get("unexpected_keys", [])),
            )
        )
        if strict and missing:
            raise CheckpointError(
                files.llm_path, f"llm_path: parameters not in the checkpoint: {missing[:12]}"
            )
        llm = llm.to(device)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.init_seed)
        with torch.device(device), _default_dtype(dtype):
            if llm is None:
                llm_cfg = llama_config(config.llm)
                llm_cfg._attn_implementation = attn_implementation
                llm = LlamaForCausalLM(llm_cfg)
            model = VideoSalmonn(config, tokenizer, instruction_tokenizer, llm, whisper_config, beats_config)
    model.to(device=device, dtype=dtype)

    if files.eva_path is not None:
        tensors = as_state_dict(
            read_checkpoint(files.eva_path, "eva_path"), files.eva_path, "eva_path", "model"
        )
        reports.append(
            load_official_tensors(
                model,
                tensors,
                path=files.eva_path,
                role="eva_path",
                prefix="visual_encoder.",
                required=lambda k: k.startswith("visual.vit."),
                strict=strict,
                ignore_beyond_depth=("visual.vit.blocks.", config.vit.depth),
            )
        )
    if files.instructblip_path is not None:
        obj = read_checkpoint(files.instructblip_path, "instructblip_path")
        tensors = as_state_dict(obj, files.instructblip_path, "instructblip_path", "model")
        reports.append(
            load_official_tensors(
                model,
                tensors,
                path=files.instructblip_path,
                role="instructblip_path",
                required=lambda k: k.startswith(
                    ("visual.qformer.", "visual.query_tokens", "visual.ln_vision.")
                ),
                strict=strict,
                ignore_beyond_depth=("visual.vit.blocks.", config.vit.depth),
            )
        )
    if beats_obj is not None and files.beats_path is not None:
        tensors = as_state_dict(beats_obj, files.beats_path, "beats_path", "model")
        reports.append(
            load_official_tensors(
                model,
                tensors,
                path=files.beats_path,
                role="beats_path",
                prefix="beats.",
                required=lambda k: k.startswith("audio."),
                strict=strict,
            )
        )
    if files.whisper_path is not None:
        weights = read_hf_weights(files.whisper_path, "whisper_path")
        encoder = {k[len(p) :]: v for k, v in weights.items() for p in ("model.encoder.",) if k.startswith(p)}
        reports.append(
            load_official_tensors(
                model,
                encoder,
                path=files.whisper_path,
                role="whisper_path",
                prefix="speech_encoder.",
                required=lambda k: k.startswith("speech.encoder."),
                strict=strict,
            )
        )
    if files.checkpoint is not None:
        obj = read_checkpoint(files.checkpoint, "checkpoint")
        container = "model" if isinstance(obj, dict) and "model" in obj else None
        tensors = as_state_dict(obj, files.checkpoint, "checkpoint", container)
        reports.append(
            load_official_tensors(
                model,
                tensors,
                path=files.checkpoint,
                role="checkpoint",
                required=_lora_or_new,
                strict=strict,
            )
        )
    model.eval()
    return model, reports
