"""Qwen2.5-Omni (Xu et al., 2025): audio, video and images into Qwen; the thinker only (text out).

Model arguments, besides those of :mod:`model_adapters._hf_base`:

- ``audio_in_video``: ``true`` (default) interleaves a video's audio with its frames in 2 s chunks
  on a shared time axis, as the model card does for videos with sound (``use_audio_in_video``);
  ``false`` gives the audio as a separate clip after the video;
- ``max_pixels``: cap on pixels per image or frame before patching (default: the processor's).

The reference checkpoint is ``Qwen/Qwen2.5-Omni-7B`` (also 3B). Only the thinker is loaded; the
talker and the speech decoder are not built. The default system message is the one the model card
requires for its audio behaviour. Video frames are the ones savbench sampled; their frame rate,
taken from the timestamps, sets the model's temporal positions.
"""

from __future__ import annotations

from typing import Any

from model_adapters._hf_base import HFAdapter, Prepared
from model_adapters._tiny import chatml_template, randomize, tiny_text_config, tiny_tokenizer
from model_adapters._torch_base import parse_bool, parse_int
from savbench.adapters import MODALITIES

OMNI_SYSTEM = (
    "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving "
    "auditory and visual inputs, as well as generating text and speech."
)
NAMED_TOKENS = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
}
# Processor defaults of the smallest pixel count per image and per video frame.
IMAGE_MIN_PIXELS = 56 * 56
VIDEO_MIN_PIXELS = 128 * 28 * 28
# Tiny preset: at most 4x4 merged patches per image or frame.
TINY_MAX_PIXELS = 28 * 28 * 16


class QwenOmniAdapter(HFAdapter):
    """Qwen2.5-Omni through transformers (thinker only)."""

    name = "qwen2.5-omni"
    modalities = MODALITIES
    description = "Qwen2.5-Omni thinker via transformers (speech, sounds, video with its audio, images)"
    requirements = (
        "pretrained=Qwen/Qwen2.5-Omni-7B (or -3B) or a local copy, ~22 GB GPU in bf16; "
        "the vision extra (torchvision) for video; preset=tiny: nothing"
    )
    hub_id = "Qwen/Qwen2.5-Omni-7B"
    default_system = OMNI_SYSTEM

    def __init__(self, audio_in_video: str = "true", max_pixels: str | None = None, **common: Any) -> None:
        self.audio_in_video = parse_bool("audio_in_video", audio_in_video)
        self.max_pixels = (
            parse_int("max_pixels", max_pixels, minimum=28 * 28) if max_pixels is not None else None
        )
        super().__init__(**common)

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        from transformers import AutoProcessor, Qwen2_5OmniThinkerForConditionalGeneration

        # The release holds thinker, talker and speech decoder; only the thinker's weights are read.
        model = self._from_pretrained(Qwen2_5OmniThinkerForConditionalGeneration, source, model_kwargs)
        processor = AutoProcessor.from_pretrained(source, **self._hub_kwargs())
        if model.generation_config.eos_token_id is None:
            ids = processor.tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
            model.generation_config.eos_token_id = [i for i in ids if i is not None]
        return model, processor

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        from transformers import (
            Qwen2_5OmniProcessor,
            Qwen2_5OmniThinkerConfig,
            Qwen2_5OmniThinkerForConditionalGeneration,
            Qwen2VLImageProcessor,
            Qwen2VLVideoProcessor,
            WhisperFeatureExtractor,
        )

        tokenizer = tiny_tokenizer(
            ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *NAMED_TOKENS.values()],
            pad_token="<|endoftext|>",
            eos_token="<|im_end|>",
            **NAMED_TOKENS,
        )
        template = chatml_template(
            {
                "audio": "<|audio_bos|><|AUDIO|><|audio_eos|>",
                "image": "<|vision_bos|><|IMAGE|><|vision_eos|>",
                "video": "<|vision_bos|><|VIDEO|><|vision_eos|>",
            }
        )
        processor = Qwen2_5OmniProcessor(
            image_processor=Qwen2VLImageProcessor(),
            video_processor=Qwen2VLVideoProcessor(),
            feature_extractor=WhisperFeatureExtractor(feature_size=128),
            tokenizer=tokenizer,
            chat_template=template,
        )
        ids = tokenizer.convert_tokens_to_ids
        config = Qwen2_5OmniThinkerConfig(
            audio_config={
                "num_mel_bins": 128,
                "encoder_layers": 1,
                "encoder_attention_heads": 2,
                "encoder_ffn_dim": 32,
                "d_model": 16,
                "output_dim": 32,
            },
            vision_config={
                "depth": 1,
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_heads": 2,
                "out_hidden_size": 32,
                "fullatt_block_indexes": [0],
            },
            text_config=tiny_text_config(
                tokenizer,
                max_positions=4096,
                # head_dim 8: 4 rotary frequencies split over time, height and width
                rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 1, 1]},
            ),
            audio_token_index=ids("<|AUDIO|>"),
            image_token_index=ids("<|IMAGE|>"),
            video_token_index=ids("<|VIDEO|>"),
            audio_start_token_id=ids("<|audio_bos|>"),
            audio_end_token_id=ids("<|audio_eos|>"),
            vision_start_token_id=ids("<|vision_bos|>"),
            vision_end_token_id=ids("<|vision_eos|>"),
            user_token_id=ids("<|im_start|>"),
        )
        model = Qwen2_5OmniThinkerForConditionalGeneration._from_config(config, attn_implementation=self.attn)
        randomize(model, seed)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        if self.max_pixels is None:
            self.max_pixels = TINY_MAX_PIXELS
        return model, processor

    def _batch_key(self, item: Prepared) -> tuple:
        # The processor takes one frame rate per call: clips sampled at other rates go apart.
        return (*item.layout, round(item.video_fps, 4) if item.video is not None else None)

    def _size(self, default_min: int) -> dict[str, int] | None:
        if self.max_pixels is None:
            return None
        return {"shortest_edge": min(default_min, self.max_pixels), "longest_edge": self.max_pixels}

    def _interleaved(self, items: list[Prepared]) -> bool:
        return self.audio_in_video and items[0].video is not None and items[0].audio is not None

    def _messages(self, item: Prepared) -> list[dict[str, Any]]:
        messages = super()._messages(item)
        if self.audio_in_video and item.video is not None and item.audio is not None:
            # The video's audio is placed inside the video's span by the processor.
            messages[-1]["content"] = [p for p in messages[-1]["content"] if p["type"] != "audio"]
        return messages

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        texts = [self._chat_text(item) for item in items]
        audio = [item.audio for item in items if item.audio is not None]
        videos = [item.video.frames for item in items if item.video is not None]
        images = [item.image for item in items if item.image is not None]
        kwargs: dict[str, Any] = {}
        if videos:
            videos_kwargs: dict[str, Any] = {"fps": items[0].video_fps, "cap_pixels_per_frame": True}
            if (size := self._size(VIDEO_MIN_PIXELS)) is not None:
                videos_kwargs["size"] = size
            kwargs["videos_kwargs"] = videos_kwargs
        if images and (size := self._size(IMAGE_MIN_PIXELS)) is not None:
            kwargs["images_kwargs"] = {"size": size}
        if self._interleaved(items):
            kwargs["load_audio_from_video"] = True
            kwargs["audio_from_video_indices"] = list(range(len(videos)))
        return self.processor(
            text=texts,
            audio=audio or None,
            videos=videos or None,
            images=images or None,
            padding=True,
            return_tensors="pt",
            **kwargs,
        )

    def _generate_kwargs(self, items: list[Prepared]) -> dict[str, Any]:
        return {"use_audio_in_video": self._interleaved(items)}

    def _options(self) -> dict[str, Any]:
        return {"audio_in_video": self.audio_in_video, "max_pixels": self.max_pixels}
