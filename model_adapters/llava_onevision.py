"""LLaVA-OneVision (Li et al., 2024): SigLIP features into Qwen2, for video and images (no audio).

Model arguments: those of :mod:`model_adapters._hf_base`. The reference checkpoint is
``llava-hf/llava-onevision-qwen2-7b-ov-hf`` (also 0.5b and 72b). Images go through the any-resolution
tiling of the processor; each video frame is one 384x384 tile pooled 2x2, as in the release.
Video frames are the ones savbench sampled (the task's ``media.video`` settings).
"""

from __future__ import annotations

from typing import Any

from model_adapters._hf_base import HFAdapter, Prepared
from model_adapters._tiny import chatml_template, randomize, tiny_text_config, tiny_tokenizer

# Tiny preset: 28x28 tiles of 2x2 patches; tilings up to 2x2.
TINY_TILE = 28
TINY_PINPOINTS = [[28, 28], [28, 56], [56, 28], [56, 56]]


class LlavaOnevisionAdapter(HFAdapter):
    """LLaVA-OneVision through transformers."""

    name = "llava-onevision"
    modalities = frozenset({"video", "image"})
    description = "LLaVA-OneVision (Qwen2) via transformers (video frames and images; no audio)"
    requirements = (
        "pretrained=llava-hf/llava-onevision-qwen2-7b-ov-hf (0.5b/72b) or a local copy, "
        "~20 GB GPU in bf16 (7B); "
        "the vision extra (torchvision); preset=tiny: nothing"
    )
    hub_id = "llava-hf/llava-onevision-qwen2-7b-ov-hf"

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration

        model = self._from_pretrained(LlavaOnevisionForConditionalGeneration, source, model_kwargs)
        return model, AutoProcessor.from_pretrained(source, **self._hub_kwargs())

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        from transformers import (
            LlavaOnevisionConfig,
            LlavaOnevisionForConditionalGeneration,
            LlavaOnevisionImageProcessor,
            LlavaOnevisionProcessor,
            LlavaOnevisionVideoProcessor,
        )

        tokenizer = tiny_tokenizer(
            ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"],
            pad_token="<|endoftext|>",
            eos_token="<|im_end|>",
            image_token="<image>",
            video_token="<video>",
        )
        tile = {"height": TINY_TILE, "width": TINY_TILE}
        patch = 14
        processor = LlavaOnevisionProcessor(
            image_processor=LlavaOnevisionImageProcessor(size=tile, image_grid_pinpoints=TINY_PINPOINTS),
            video_processor=LlavaOnevisionVideoProcessor(size=tile),
            tokenizer=tokenizer,
            num_image_tokens=(TINY_TILE // patch) ** 2,
            vision_feature_select_strategy="full",
            chat_template=chatml_template(
                {"image": "<image>\n", "video": "<video>\n"}, "You are a helpful assistant."
            ),
        )
        config = LlavaOnevisionConfig(
            vision_config={
                "model_type": "siglip_vision_model",
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "image_size": TINY_TILE,
                "patch_size": patch,
            },
            text_config=tiny_text_config(tokenizer, max_positions=2048, model_type="qwen2"),
            image_token_index=tokenizer.image_token_id,
            video_token_index=tokenizer.video_token_id,
            vision_feature_select_strategy="full",
            vision_feature_layer=-1,
            image_grid_pinpoints=TINY_PINPOINTS,
        )
        model = LlavaOnevisionForConditionalGeneration._from_config(config, attn_implementation=self.attn)
        randomize(model, seed)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model, processor

    def _batch_key(self, item: Prepared) -> tuple:
        # Clips are stacked into one tensor: only equal frame counts share a call.
        return (*item.layout, len(item.video) if item.video is not None else None)

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        texts = [self._chat_text(item) for item in items]
        videos = [item.video.frames for item in items if item.video is not None]
        images = [item.image for item in items if item.image is not None]
        return self.processor(
            text=texts,
            videos=videos or None,
            images=images or None,
            padding=True,
            return_tensors="pt",
        )
