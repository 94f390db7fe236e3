"""InstructBLIP (Dai et al., 2023): an instruction-aware Q-Former over EVA ViT-g features into Vicuna
or Flan-T5, for images (the image rows of the AVEB and SAVE tables).

Model arguments: those of :mod:`model_adapters._hf_base` (``system`` does not apply). The
reference checkpoint is ``Salesforce/instructblip-vicuna-7b`` (also ``-vicuna-13b`` and the Flan-T5
variants). The prompt goes to the model as plain text, as in the release; the Q-Former gets the same
text to select visual features.
"""

from __future__ import annotations

from typing import Any

from model_adapters._hf_base import HFAdapter, Prepared
from model_adapters._tiny import randomize, tiny_text_config, tiny_tokenizer

TINY_IMAGE = 28
TINY_QUERIES = 4


class InstructBlipAdapter(HFAdapter):
    """InstructBLIP through transformers."""

    name = "instructblip"
    modalities = frozenset({"image"})
    required = frozenset({"image"})
    description = "InstructBLIP (Vicuna or Flan-T5) via transformers (images only)"
    requirements = (
        "pretrained=Salesforce/instructblip-vicuna-7b (or a Flan-T5 variant) or a local copy; "
        "preset=tiny: nothing"
    )
    hub_id = "Salesforce/instructblip-vicuna-7b"

    def _load(self) -> None:
        super()._load()
        # The Q-Former has absolute positions from 0: pad its text on the right.
        self.processor.qformer_tokenizer.padding_side = "right"

    def _load_pretrained(self, source: str, model_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        from transformers import InstructBlipForConditionalGeneration, InstructBlipProcessor

        model = self._from_pretrained(InstructBlipForConditionalGeneration, source, model_kwargs)
        return model, InstructBlipProcessor.from_pretrained(source, **self._hub_kwargs())

    def _build_tiny(self, seed: int) -> tuple[Any, Any]:
        from transformers import (
            BlipImageProcessor,
            InstructBlipConfig,
            InstructBlipForConditionalGeneration,
            InstructBlipProcessor,
        )

        # The processor adds the <image> placeholder to the tokenizer itself, as for the release.
        tokenizer = tiny_tokenizer(
            ["<s>", "</s>", "<pad>"], bos_token="<s>", eos_token="</s>", pad_token="<pad>"
        )
        qformer_tokenizer = tiny_tokenizer(["[PAD]", "[CLS]", "[SEP]"], pad_token="[PAD]", vocab_size=160)
        processor = InstructBlipProcessor(
            image_processor=BlipImageProcessor(size={"height": TINY_IMAGE, "width": TINY_IMAGE}),
            tokenizer=tokenizer,
            qformer_tokenizer=qformer_tokenizer,
            num_query_tokens=TINY_QUERIES,
        )
        config = InstructBlipConfig(
            vision_config={
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "image_size": TINY_IMAGE,
                "patch_size": 14,
            },
            qformer_config={
                "vocab_size": len(qformer_tokenizer),
                "hidden_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 32,
                "encoder_hidden_size": 16,
                "max_position_embeddings": 128,
                "pad_token_id": qformer_tokenizer.pad_token_id,
            },
            text_config=tiny_text_config(
                tokenizer, max_positions=512, model_type="llama", bos_token_id=tokenizer.bos_token_id
            ),
            num_query_tokens=TINY_QUERIES,
            image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        )
        model = InstructBlipForConditionalGeneration._from_config(config, attn_implementation=self.attn)
        randomize(model, seed)
        model.generation_config.bos_token_id = tokenizer.bos_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model, processor

    def _encode(self, items: list[Prepared]) -> dict[str, Any]:
        return self.processor(
            images=[item.image for item in items],
            text=[item.prompt for item in items],
            padding=True,
            return_tensors="pt",
        )

    def _new_tokens(self, output: Any, inputs: dict[str, Any]) -> Any:
        if self.model.config.text_config.is_encoder_decoder:
            return output  # Flan-T5 returns only decoder ids
        return super()._new_tokens(output, inputs)

    def _options(self) -> dict[str, Any]:
        return {"prompt_format": "plain text"}
