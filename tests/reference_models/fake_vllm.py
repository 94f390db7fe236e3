"""A stand-in for the parts of vllm that the vLLM back end calls (``LLM``, ``SamplingParams``,
``LoRARequest``), built on transformers.

It loads the exported folder as vLLM would, applies the peft LoRA folder from its
``adapter_config.json`` and safetensors, and decodes each prompt-embedding prompt greedily. It checks
the back end's glue (export formats, LoRA scaling, unpadding, sampling settings), not vLLM itself.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from transformers import LlamaForCausalLM


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    min_tokens: int = 0
    repetition_penalty: float = 1.0
    stop_token_ids: list[int] = field(default_factory=list)
    seed: int | None = None
    detokenize: bool = True


@dataclass
class LoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str


@dataclass
class _Completion:
    token_ids: list[int]


@dataclass
class _RequestOutput:
    outputs: list[_Completion]


class LLM:
    instances: list[LLM] = []

    def __init__(self, model: str, **kwargs: Any) -> None:
        self.kwargs = kwargs
        assert kwargs["enable_prompt_embeds"] and kwargs["skip_tokenizer_init"]
        self.folder = model
        self.base = self._load()
        self.with_lora: dict[str, LlamaForCausalLM] = {}
        LLM.instances.append(self)

    def _load(self) -> LlamaForCausalLM:
        return LlamaForCausalLM.from_pretrained(
            self.folder, dtype=torch.float32, local_files_only=True
        ).eval()

    def _apply_lora(self, folder: str) -> LlamaForCausalLM:
        config = json.loads((Path(folder) / "adapter_config.json").read_text())
        assert self.kwargs["max_lora_rank"] >= config["r"]
        scaling = config["lora_alpha"] / config["r"]
        tensors = load_file(str(Path(folder) / "adapter_model.safetensors"))
        merged = self._load()
        params = dict(merged.named_parameters())
        with torch.no_grad():
            for name, a in tensors.items():
                if ".lora_A." not in name:
                    continue
                b = tensors[name.replace(".lora_A.", ".lora_B.")]
                target = name.removeprefix("base_model.model.").replace(".lora_A.weight", ".weight")
                assert any(target.endswith(f"{m}.weight") for m in config["target_modules"])
                params[target].add_(scaling * (b.float() @ a.float()))
        return merged

    def generate(self, prompts: list[dict], params: SamplingParams, use_tqdm: bool = True, lora_request=None):
        assert params.temperature == 0.0 and params.detokenize is False
        llm = self.base
        if lora_request is not None:
            path = lora_request.lora_path
            if path not in self.with_lora:
                self.with_lora[path] = self._apply_lora(path)
            llm = self.with_lora[path]
        outputs = []
        for prompt in prompts:
            embeds = prompt["prompt_embeds"]
            assert embeds.dim() == 2 and embeds.device.type == "cpu"
            tokens: list[int] = []
            with torch.no_grad():
                out = llm(inputs_embeds=embeds[None].float(), use_cache=True)
                for step in range(params.max_tokens):
                    logits = out.logits[0, -1].clone()
                    if step < params.min_tokens:
                        logits[params.stop_token_ids] = -float("inf")
                    token = int(logits.argmax())
                    tokens.append(token)
                    if token in params.stop_token_ids:
                        break
                    out = llm(input_ids=torch.tensor([[token]]), cache=out.cache, use_cache=True)
            outputs.append(_RequestOutput([_Completion(tokens)]))
        return outputs


def install(monkeypatch: Any) -> types.ModuleType:
    """Put this stand-in in ``sys.modules`` as ``vllm`` (and ``vllm.lora.request``)."""
    module = types.ModuleType("vllm")
    module.LLM = LLM  # type: ignore[attr-defined]
    module.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = LoRARequest  # type: ignore[attr-defined]
    for name, mod in (("vllm", module), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, mod)
    LLM.instances = []
    return module
