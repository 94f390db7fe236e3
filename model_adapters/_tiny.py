"""Building blocks for ``preset=tiny``: tokenizers made in code and random weights that react to
their inputs, so that the transformers adapters run end to end with no download.

A tiny tokenizer is a BPE model trained on a few fixed sentences over printable ASCII plus newline
(Metaspace pre-tokenisation, so decoded text is readable), with the model family's special tokens.
Training is deterministic, so the same call always gives the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

TRAINING_TEXT = (
    "Transcribe the speech into text.",
    "Describe the sounds in this audio clip in one sentence.",
    "What colour is the shape that moves? Answer with the option's letter.",
    "How many shapes of the colour named in the audio appear in the video?",
    "Is the audio compatible with the video? Answer yes or no.",
    "Which object is making the sound? A red circle, a blue square, a green triangle.",
    "You are a helpful assistant. The user asks and the assistant answers.",
)
ALPHABET = ["\n"] + [chr(code) for code in range(32, 127)]
UNK = "<unk>"


def tiny_tokenizer(
    special: Sequence[str],
    *,
    trailing: Sequence[str] = (),
    vocab_size: int = 256,
    **named: Any,
) -> PreTrainedTokenizerFast:
    """A small BPE tokenizer built in memory.

    Args:
        special: Special tokens, given ids right after ``<unk>`` (id 0) in this order.
        trailing: Special tokens appended after the learned vocabulary (they get the highest ids,
            e.g. Whisper's ``<|notimestamps|>``, above which every id counts as a timestamp).
        vocab_size: Size of the learned vocabulary (special tokens included, trailing ones not).
        named: Keyword arguments of the tokenizer: ``pad_token``, ``eos_token``, ``bos_token``,
            ``padding_side`` and model-specific named tokens such as ``audio_token``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[UNK, *special],
        initial_alphabet=ALPHABET,
        show_progress=False,
    )
    backend.train_from_iterator(TRAINING_TEXT, trainer)
    if trailing:
        backend.add_special_tokens(list(trailing))
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token=UNK, **named)


def tiny_text_config(tokenizer: Any, *, max_positions: int, **extra: Any) -> dict[str, Any]:
    """The decoder of every tiny preset: 2 layers, width 32, grouped-query attention (4 heads, 2 KV).

    Args:
        tokenizer: The tiny tokenizer (vocabulary size, pad and end ids).
        max_positions: ``max_position_embeddings``.
        extra: Further config keys (``model_type``, rope settings, ``bos_token_id``, ...).
    """
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": max_positions,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        **extra,
    }


def randomize(model: torch.nn.Module, seed: int, gain: float = 2.0) -> None:
    """Redraw every weight matrix from N(0, gain² / fan_in) with a seeded generator.

    transformers initialises with a small fixed std (0.02), which at tiny widths makes the output
    nearly independent of the input: every sample would get the same answer and a test could not
    tell whether audio or video reached the model. Larger weights make the answer depend on the
    input; vectors (norms, biases) keep their defaults.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.named_parameters()):
            if param.dim() < 2:
                continue
            fan_in = param[0].numel()
            values = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            param.copy_(values * (gain / fan_in**0.5))


def chatml_template(markers: dict[str, str], default_system: str | None = None) -> str:
    """A ChatML chat template (``<|im_start|>role ... <|im_end|>``) that writes ``markers[type]``
    for each media part of a message (``audio``, ``image``, ``video``) and the text of text parts.

    Args:
        markers: Media part type to the placeholder text the processor expands.
        default_system: System message inserted when the conversation has none.
    """
    if not markers:
        raise ValueError("chatml_template needs at least one media marker")
    media = "".join(
        f"{'{% if' if i == 0 else '{% elif'} part['type'] == '{kind}' %}}{marker}"
        for i, (kind, marker) in enumerate(sorted(markers.items()))
    )
    system = (
        "{% if messages[0]['role'] != 'system' %}<|im_start|>system\n"
        + default_system
        + "<|im_end|>\n{% endif %}"
        if default_system
        else ""
    )
    return (
        system + "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
        "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
        "{% for part in message['content'] %}" + media + "{% else %}{{ part['text'] }}{% endif %}"
        "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
