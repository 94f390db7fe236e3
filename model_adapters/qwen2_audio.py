"""Qwen2-Audio (Chu et al., 2024): a Whisper-style audio encoder feeding Qwen, for speech and sounds.

Model arguments: those of :mod:`model_adapters._hf_base`. The reference checkpoint is
``Qwen/Qwen2-Audio-7B-Instruct``; its chat template puts each clip as ``Audio 1: <|audio_bos|>
<|AUDIO|><|audio_eos|>`` before the question. Audio is padded to 30 s by the Whisper feature
extractor and a longer clip is cut at 30 s.
"""

from __future__ import annotations

from typing import Any

from model_adapters._hf_base import HFAdapter, Prepared
from model_adapters._tiny import randomize, tiny_text_config, tiny_tokenizer

AUDIO_MARKERS = ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")


class Qwen2AudioAdapter(HFAdapter):
    """Qwen2-Audio-7B-Instruct through transformers."""

    name = "qwen2-audio"
    modalities = frozenset({"speech", "audio"})
    description = "Qwen2-Audio 7B Instruct via transformers (speech and sound events; 30 s audio)"
    requirements = (
        "pretrained=Qwen/Qwen2-Audio-7B-Instruct or a local copy, ~20 GB GPU in bf16; preset=tiny: nothing"
    )
    hub_id = "Qwen/Qwen2-Audio-7B-Instruct"

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

        model = self._from_pretrained(Qwen2AudioForConditionalGeneration, source, model_kwargs)
        return model, AutoProcessor.from_pretrained(source, **self._hub_kwargs())

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        from transformers import (
            Qwen2AudioConfig,
            Qwen2AudioForConditionalGeneration,
            Qwen2AudioProcessor,
            WhisperFeatureExtractor,
        )

        from model_adapters._tiny import chatml_template

        tokenizer = tiny_tokenizer(
            ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *AUDIO_MARKERS],
            pad_token="<|endoftext|>",
            eos_token="<|im_end|>",
            audio_token="<|AUDIO|>",
            audio_bos_token="<|audio_bos|>",
            audio_eos_token="<|audio_eos|>",
        )
        template = chatml_template(
            {"audio": "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n"}, "You are a helpful assistant."
        )
        processor = Qwen2AudioProcessor(
            feature_extractor=WhisperFeatureExtractor(feature_size=128),
            tokenizer=tokenizer,
            chat_template=template,
        )
        config = Qwen2AudioConfig(
            audio_config={
                "model_type": "qwen2_audio_encoder",
                "d_model": 16,
                "encoder_layers": 1,
                "encoder_attention_heads": 2,
                "encoder_ffn_dim": 32,
                "num_mel_bins": 128,
            },
            text_config=tiny_text_config(tokenizer, max_positions=1024, model_type="qwen2"),
            audio_token_index=tokenizer.audio_token_id,
        )
        model = Qwen2AudioForConditionalGeneration._from_config(config, attn_implementation=self.attn)
        randomize(model, seed)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model, processor

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        texts = [self._chat_text(item) for item in items]
        audio = [item.audio for item in items if item.audio is not None]
        return self.processor(
            text=texts,
            audio=audio or None,
            sampling_rate=self.sampling_rate,
            padding=True,
            return_tensors="pt",
        )
