"""Whisper (Radford et al., 2022): the speech recognition cascade baseline of the AVEB and SAVE tables.

It transcribes and nothing else: the task prompt is not used, so put it only on ASR-like tasks
(it declares the ``speech`` stream alone). Model arguments, besides those of
:mod:`model_adapters._hf_base` (``system`` does not apply):

- ``language``: spoken language token, e.g. ``en`` (default), or ``auto`` to let the model detect it;
- ``task``: ``transcribe`` (default) or ``translate`` (into English).

The reference checkpoint is ``openai/whisper-large-v3``; any Whisper size works. Audio is padded
to 30 s and a longer clip is cut at 30 s (no long-form chunking).
"""

from __future__ import annotations

import logging
from typing import Any

from model_adapters._hf_base import HFAdapter, Prepared
from model_adapters._tiny import randomize, tiny_tokenizer

WHISPER_SPECIAL = (
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
)
# Whisper treats every id above <|notimestamps|> as a timestamp, so it comes last.
NO_TIMESTAMPS = "<|notimestamps|>"
TASKS = ("transcribe", "translate")
# Room for the start, language, task and no-timestamps tokens within max_target_positions.
PROMPT_TOKENS = 4


class _LengthNoise(logging.Filter):
    """Drops the 'max_new_tokens and max_length both set' warning: Whisper's own generate sets
    max_length between its passes, so the warning would print on every batch."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "seem to have been set" not in record.getMessage()


logging.getLogger("transformers.generation.utils").addFilter(_LengthNoise())


class WhisperAdapter(HFAdapter):
    """Whisper speech recognition through transformers."""

    name = "whisper"
    modalities = frozenset({"speech"})
    required = frozenset({"audio"})
    description = "Whisper via transformers (speech recognition only; ignores the task prompt)"
    requirements = "pretrained=openai/whisper-large-v3 (any size) or a local copy; preset=tiny: nothing"
    hub_id = "openai/whisper-large-v3"
    default_batch_size = 16

    def __init__(self, language: str = "en", task: str = "transcribe", **common: Any) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        self.language = None if language.strip().lower() == "auto" else language.strip()
        self.task = task
        super().__init__(**common)

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        model = self._from_pretrained(WhisperForConditionalGeneration, source, model_kwargs)
        return model, WhisperProcessor.from_pretrained(source, **self._hub_kwargs())

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        from transformers import (
            WhisperConfig,
            WhisperFeatureExtractor,
            WhisperForConditionalGeneration,
            WhisperProcessor,
        )

        tokenizer = tiny_tokenizer(
            WHISPER_SPECIAL,
            trailing=[NO_TIMESTAMPS],
            bos_token="<|endoftext|>",
            eos_token="<|endoftext|>",
            pad_token="<|endoftext|>",
        )
        ids = tokenizer.convert_tokens_to_ids
        processor = WhisperProcessor(
            feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
        )
        config = WhisperConfig(
            vocab_size=len(tokenizer),
            num_mel_bins=80,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_target_positions=256,
            pad_token_id=ids("<|endoftext|>"),
            bos_token_id=ids("<|endoftext|>"),
            eos_token_id=ids("<|endoftext|>"),
            decoder_start_token_id=ids("<|startoftranscript|>"),
            suppress_tokens=None,
            begin_suppress_tokens=None,
        )
        model = WhisperForConditionalGeneration._from_config(config, attn_implementation=self.attn)
        randomize(model, seed)
        generation = model.generation_config
        generation.decoder_start_token_id = ids("<|startoftranscript|>")
        generation.eos_token_id = ids("<|endoftext|>")
        generation.pad_token_id = ids("<|endoftext|>")
        generation.lang_to_id = {"<|en|>": ids("<|en|>")}
        generation.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
        generation.no_timestamps_token_id = ids(NO_TIMESTAMPS)
        generation.prev_sot_token_id = ids("<|startofprev|>")
        generation.is_multilingual = True
        # A saved copy must load these back rather than rebuild them from the model config.
        generation._from_model_config = False
        return model, processor

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        audio = [item.audio for item in items]
        return self.processor(audio=audio, sampling_rate=self.sampling_rate, return_tensors="pt")

    def _generate_kwargs(self, items: list[Prepared]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"task": self.task}
        if self.language is not None:
            kwargs["language"] = self.language
        return kwargs

    def _generation_config(self, settings: Any) -> Any:
        config = super()._generation_config(settings)
        # Whisper refuses a budget past its decoder length instead of stopping there.
        limit = self.model.config.max_target_positions - PROMPT_TOKENS
        config.max_new_tokens = min(config.max_new_tokens, limit)
        return config

    def _new_tokens(self, output: Any, inputs: dict[str, Any]) -> Any:
        return output  # an encoder-decoder returns only decoder ids

    def _options(self) -> dict[str, Any]:
        return {"language": self.language, "task": self.task, "prompt": "not used"}
