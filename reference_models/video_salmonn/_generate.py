"""Decoding from left-padded ``inputs_embeds``.

Two paths over the same LLM:

- :func:`hf_generate`: transformers' ``generate`` (greedy, beam search, sampling), the path the
  official ``inference.py`` takes;
- :func:`greedy_generate`: an explicit prefill + one-token-at-a-time loop (greedy only) that
  reports prefill and decode time separately, for benchmarks. It gives the same tokens as
  ``hf_generate`` with the same settings.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, PreTrainedModel


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings.

    Args:
        max_new_tokens: Upper bound on generated tokens.
        num_beams: Beam width (1: greedy or sampling).
        do_sample: Sample instead of taking the argmax.
        temperature: Sampling temperature.
        top_p: Nucleus mass for sampling.
        repetition_penalty: Penalty on tokens already generated (1.0: none).
        length_penalty: Beam-search length penalty.
        min_new_tokens: End-of-sequence is forbidden before this many tokens (benchmarks with a
            fixed output length use ``min_new_tokens == max_new_tokens``).
    """

    max_new_tokens: int = 512
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    length_penalty: float = 1.0
    min_new_tokens: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.num_beams < 1:
            raise ValueError("num_beams must be >= 1")
        if self.do_sample and self.temperature <= 0:
            raise ValueError("temperature must be > 0 when sampling")
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0")


@dataclass
class DecodeTimes:
    """Wall time of the LLM stages in seconds."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    steps: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def left_pad_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids for a left-padded batch: counting real tokens only (pads get 1, as HF does)."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill(attention_mask == 0, 1)


class GeneratedTokenPenalty(LogitsProcessor):
    """Repetition penalty over the generated tokens (``score * p`` if negative, else ``score / p``).

    With ``inputs_embeds`` the ``input_ids`` seen by logits processors are the generated tokens
    only. transformers' own processor then skips each row's first ``left padding`` tokens (it
    takes them for prompt padding), which makes a sample's output depend on its batch; this one
    penalises every generated token, which is what the official single-sample decoding does.
    """

    def __init__(self, penalty: float) -> None:
        self.penalty = penalty

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return _penalise(scores, input_ids, self.penalty)


def hf_generate(
    llm: PreTrainedModel,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    options: DecodeOptions,
    eos_token_id: int,
    pad_token_id: int,
) -> torch.Tensor:
    """Generate with transformers' ``generate``.

    Args:
        llm: The causal LM.
        inputs_embeds: (B, L, H) left-padded prompt embeddings.
        attention_mask: (B, L) 1 for real positions.
        options: Decoding settings.
        eos_token_id: End of sequence.
        pad_token_id: Filler after a sequence ends.

    Returns:
        (B, T) new token ids (pad after end of sequence).
    """
    kwargs: dict = {
        "max_new_tokens": options.max_new_tokens,
        "num_beams": options.num_beams,
        "do_sample": options.do_sample,
        "eos_token_id": eos_token_id,
        "pad_token_id": pad_token_id,
        "min_new_tokens": options.min_new_tokens or None,
    }
    processors = LogitsProcessorList()
    padded = bool((attention_mask == 0).any())
    if options.repetition_penalty != 1.0:
        if padded:
            processors.append(GeneratedTokenPenalty(options.repetition_penalty))
        else:
            # No padding: transformers' processor is exact, and keeps its place before sampling warpers.
            kwargs["repetition_penalty"] = options.repetition_penalty
    if options.num_beams > 1:
        kwargs["length_penalty"] = options.length_penalty
    if options.do_sample:
        if padded and options.repetition_penalty != 1.0:
            raise ValueError(
                "sampling with a repetition penalty needs an unpadded batch (one sample at a time)"
            )
        kwargs["temperature"] = options.temperature
        kwargs["top_p"] = options.top_p
    config = GenerationConfig(**kwargs)
    with torch.no_grad(), warnings.catch_warnings():
        # The penalty applies to generated tokens only, as in the official code.
        warnings.filterwarnings("ignore", message=".*repetition_penalty.*inputs_embeds.*")
        return llm.generate(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            generation_config=config,
            logits_processor=processors,
        )


def _penalise(logits: torch.Tensor, generated: torch.Tensor, penalty: float) -> torch.Tensor:
    if penalty == 1.0 or generated.shape[1] == 0:
        return logits
    picked = logits.gather(1, generated)
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return logits.scatter(1, generated, picked)


def greedy_generate(
    llm: PreTrainedModel,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    options: DecodeOptions,
    eos_token_id: int,
    pad_token_id: int,
    times: DecodeTimes | None = None,
) -> torch.Tensor:
    """Greedy decoding with an explicit prefill and decode loop (KV cache).

    Same arguments and result as :func:`hf_generate`; ``options`` must be greedy
    (``num_beams == 1`` and no sampling). ``times`` receives prefill and decode seconds.
    """
    if options.num_beams != 1 or options.do_sample:
        raise ValueError("greedy_generate does greedy decoding only (num_beams=1, no sampling)")
    device = inputs_embeds.device
    batch = inputs_embeds.shape[0]
    mask = attention_mask.long()
    generated = torch.empty((batch, 0), dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    _sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        out = llm(
            inputs_embeds=inputs_embeds,
            attention_mask=mask,
            position_ids=left_pad_positions(mask),
            use_cache=True,
            logits_to_keep=1,
        )
        _sync(device)
        prefill_end = time.perf_counter()
        cache = out.cache
        logits = out.logits[:, -1, :].float()
        for step in range(options.max_new_tokens):
            logits = _penalise(logits, generated, options.repetition_penalty)
            if step < options.min_new_tokens:
                logits[:, eos_token_id] = -float("inf")
            token = logits.argmax(dim=-1)
            token = torch.where(done, torch.full_like(token, pad_token_id), token)
            generated = torch.cat([generated, token[:, None]], dim=1)
            done = done | (token == eos_token_id)
            if bool(done.all()) or step + 1 == options.max_new_tokens:
                break
            mask = torch.cat([mask, mask.new_ones(batch, 1)], dim=1)
            positions = mask.sum(dim=1, keepdim=True) - 1
            out = llm(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
            )
            cache = out.cache
            logits = out.logits[:, -1, :].float()
    _sync(device)
    end = time.perf_counter()
    if times is not None:
        times.prefill_s += prefill_end - start
        times.decode_s += end - prefill_end
        times.steps += generated.shape[1]
    return generated
