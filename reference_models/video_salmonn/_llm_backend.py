"""LLM back ends behind one call: left-padded prompt embeddings in, new token ids out.

:class:`HFBackend` runs transformers' ``generate`` on the model's own LLM (the path of the official
``inference.py``); ``_vllm.VllmBackend`` hands the same embeddings to a vLLM engine. Both fill
``times`` with ``llm_prefill_s`` and ``llm_decode_s`` (vLLM: ``llm_generate_s``, which it does not
split).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import torch
from transformers import PreTrainedModel

from reference_models.video_salmonn._generate import DecodeOptions, hf_generate


class LlmBackend(Protocol):
    """What the adapter needs from an LLM back end."""

    name: str

    def generate(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        options: DecodeOptions,
        eos_token_id: int,
        pad_token_id: int,
        times: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> list[list[int]]:
        """New token ids per sample (pad after end of sequence); ``seed`` seeds sampling."""
        ...

    def close(self) -> None:
        """Release the back end's resources."""
        ...


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PrefillClock:
    """Splits the time of one ``generate`` call into prefill (the forward that takes
    ``inputs_embeds``) and decoding (the rest), with forward hooks on the LLM.

    The hooks synchronise the device only around the prefill forward and only while a
    measurement is running, so untimed calls cost nothing extra.

    Args:
        llm: The causal LM.
    """

    def __init__(self, llm: torch.nn.Module) -> None:
        self.llm = llm
        self._handles: list[Any] = []
        self._active = False
        self._started: float | None = None
        self._prefill = 0.0

    def _device(self) -> torch.device:
        return next(self.llm.parameters()).device

    def _before(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        if self._active and kwargs.get("inputs_embeds") is not None:
            _sync(self._device())
            self._started = time.perf_counter()

    def _after(self, module: Any, args: Any, kwargs: dict[str, Any], output: Any) -> None:
        if self._active and self._started is not None:
            _sync(self._device())
            self._prefill += time.perf_counter() - self._started
            self._started = None

    @contextmanager
    def measure(self, times: dict[str, float] | None) -> Iterator[None]:
        """Time the ``generate`` call inside the block into ``times`` (no-op when None)."""
        if times is None:
            yield
            return
        if not self._handles:
            self._handles = [
                self.llm.register_forward_pre_hook(self._before, with_kwargs=True),
                self.llm.register_forward_hook(self._after, with_kwargs=True),
            ]
        device = self._device()
        self._prefill, self._started, self._active = 0.0, None, True
        _sync(device)
        start = time.perf_counter()
        try:
            yield
        finally:
            _sync(device)
            total = time.perf_counter() - start
            self._active = False
            times["llm_prefill_s"] = times.get("llm_prefill_s", 0.0) + self._prefill
            times["llm_decode_s"] = times.get("llm_decode_s", 0.0) + total - self._prefill

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


class HFBackend:
    """transformers' ``generate`` on the model's LLM: greedy, beam search and sampling.

    Args:
        llm: The model's causal LM (with its LoRA layers).
    """

    name = "hf"

    def __init__(self, llm: PreTrainedModel) -> None:
        self.llm = llm
        self.clock = PrefillClock(llm)

    def generate(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        options: DecodeOptions,
        eos_token_id: int,
        pad_token_id: int,
        times: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> list[list[int]]:
        """Generate for a left-padded batch.

        Args:
            inputs_embeds: (B, L, H) prompt embeddings.
            attention_mask: (B, L) 1 for real positions.
            options: Decoding settings.
            eos_token_id: End of sequence.
            pad_token_id: Filler after a sequence ends.
            times: When given, receives ``llm_prefill_s`` and ``llm_decode_s``.
            seed: Unused: sampling here draws from torch's global generator, which the caller
                seeds.
        """
        with self.clock.measure(times):
            tokens = hf_generate(self.llm, inputs_embeds, attention_mask, options, eos_token_id, pad_token_id)
        return tokens.tolist()

    def close(self) -> None:
        self.clock.remove()
