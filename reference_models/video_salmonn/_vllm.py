"""vLLM as the LLM back end: the projected audio-visual prompt goes in as prompt embeddings and
the video-SALMONN LoRA is applied as a LoRA request.

The audio-visual encoders, Q-Former and projection stay in torch; vLLM runs only the language
model (paged KV cache, continuous batching, CUDA graphs). vLLM reads weights from a Hugging Face
folder: the Vicuna folder given as ``llm_path``, or, for a randomly initialised model, a folder
this module writes (:func:`export_llm_folder`). The LoRA weights are exported in peft format
(:func:`~reference_models.video_salmonn.export_peft_lora`).

vLLM has no beam search over prompt embeddings, so this back end decodes greedily or by
sampling. vLLM is an optional dependency (``pip install 'savbench[vllm]'``), imported on use.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from reference_models.video_salmonn._checkpoint import export_peft_lora
from reference_models.video_salmonn._generate import DecodeOptions

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the ranks vLLM's LoRA kernels are built for
SHARD_BYTES = 4 * 1024**3
INSTALL_HINT = "vllm is not installed; install the extra with: pip install 'savbench[vllm]'"


def import_vllm() -> Any:
    """The vllm module, or ImportError with the install command."""
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    return vllm


def vllm_lora_rank(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds a LoRA of ``rank``."""
    for allowed in LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ValueError(f"LoRA rank {rank} is above the largest rank vLLM supports ({LORA_RANKS[-1]})")


def export_llm_folder(llm: torch.nn.Module, folder: str | Path) -> Path:
    """Write the LLM's base weights (LoRA excluded) as a Hugging Face Llama folder.

    Args:
        llm: The model's ``LlamaForCausalLM`` (its LoRA layers keep the base parameter names).
        folder: Output folder (``config.json``, safetensors shards and their index).

    Returns:
        The folder.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    config = llm.config.to_dict()
    config["architectures"] = ["LlamaForCausalLM"]
    config["model_type"] = "llama"
    base = {
        name: tensor.detach().to("cpu").contiguous()
        for name, tensor in llm.state_dict().items()
        if ".lora_A." not in name and ".lora_B." not in name and "rotary_emb" not in name
    }
    dtype = next(iter(base.values())).dtype
    config["torch_dtype"] = str(dtype).removeprefix("torch.")
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in base.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][name] = tensor
        size += nbytes
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(root / file), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, file))
    total = sum(t.numel() * t.element_size() for t in base.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (root / "model.safetensors.index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    (root / "config.json").write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    return root


def unpadded_embeds(inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
    """Per sample, the (n_i, H) prompt embeddings without the left padding, on the CPU."""
    rows = []
    for row, mask in zip(inputs_embeds, attention_mask, strict=True):
        rows.append(row[mask.bool()].to("cpu").contiguous())
    return rows


def sampling_params(options: DecodeOptions, eos_token_id: int, factory: Any, seed: int | None = None) -> Any:
    """vLLM ``SamplingParams`` for ``options`` (``factory`` is ``vllm.SamplingParams``).

    Raises:
        ValueError: Beam search (vLLM does not search beams over prompt embeddings).
    """
    if options.num_beams != 1:
        raise ValueError(
            f"backend=vllm decodes greedily or by sampling; num_beams={options.num_beams} needs backend=hf"
        )
    sample = options.do_sample
    return factory(
        n=1,
        temperature=options.temperature if sample else 0.0,
        top_p=options.top_p if sample else 1.0,
        max_tokens=options.max_new_tokens,
        min_tokens=options.min_new_tokens,
        repetition_penalty=options.repetition_penalty,
        stop_token_ids=[eos_token_id],
        seed=seed if sample else None,
        detokenize=False,
    )


class VllmBackend:
    """The LLM in a vLLM engine, fed with prompt embeddings, LoRA applied per request.

    Args:
        model_folder: Hugging Face folder of the base LLM (Vicuna, or :func:`export_llm_folder`).
        lora_folder: peft LoRA folder (:func:`export_peft_lora`), or None for the base model.
        lora_rank: Rank of that LoRA.
        dtype: Weight dtype (``bfloat16``, ``float16`` or ``float32``).
        gpu_memory_utilization: Share of the GPU's memory vLLM may take (weights + KV cache);
            leave room for the encoders that stay in torch.
        max_model_len: Longest prompt + answer in tokens (the config's when None).
        enforce_eager: Disable CUDA graphs.
        seed: Engine seed.
    """

    name = "vllm"

    def __init__(
        self,
        model_folder: str | Path,
        lora_folder: str | Path | None,
        *,
        lora_rank: int = 32,
        dtype: str = "bfloat16",
        gpu_memory_utilization: float = 0.5,
        max_model_len: int | None = None,
        enforce_eager: bool = False,
        seed: int = 0,
    ) -> None:
        vllm = import_vllm()
        from vllm.lora.request import LoRARequest

        self._vllm = vllm
        kwargs: dict[str, Any] = {
            "model": str(model_folder),
            "dtype": dtype,
            "skip_tokenizer_init": True,  # answers are decoded by the model's own tokenizer
            "enable_prompt_embeds": True,
            "gpu_memory_utilization": gpu_memory_utilization,
            "enforce_eager": enforce_eager,
            "seed": seed,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        if lora_folder is not None:
            kwargs.update(enable_lora=True, max_loras=1, max_lora_rank=vllm_lora_rank(lora_rank))
        self.engine = vllm.LLM(**kwargs)
        self.lora = LoRARequest("video-salmonn", 1, str(lora_folder)) if lora_folder is not None else None

    @classmethod
    def from_model(
        cls,
        model: Any,
        workdir: str | Path,
        *,
        llm_path: str | None = None,
        **kwargs: Any,
    ) -> VllmBackend:
        """A back end for a built :class:`~reference_models.video_salmonn.VideoSalmonn`.

        Args:
            model: The model (its LLM must not have LoRA merged into the base weights).
            workdir: Folder for the exported LoRA (and base weights when ``llm_path`` is None).
            llm_path: The base LLM's Hugging Face folder, when the weights came from one.
            kwargs: Engine settings (see the class).
        """
        root = Path(workdir)
        base = Path(llm_path) if llm_path is not None else export_llm_folder(model.llm, root / "llm")
        lora = export_peft_lora(model, root / "lora", base_model=str(base))
        dtype = str(model.dtype).removeprefix("torch.")
        return cls(base, lora, lora_rank=model.config.lora.r, dtype=dtype, **kwargs)

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
        """Generate for a left-padded batch (same arguments as ``HFBackend.generate``).

        ``times`` receives ``llm_generate_s`` (vLLM does prefill and decoding in one call).
        """
        params = sampling_params(options, eos_token_id, self._vllm.SamplingParams, seed)
        prompts = [{"prompt_embeds": e} for e in unpadded_embeds(inputs_embeds, attention_mask)]
        start = time.perf_counter()
        outputs = self.engine.generate(prompts, params, use_tqdm=False, lora_request=self.lora)
        if times is not None:
            times["llm_generate_s"] = times.get("llm_generate_s", 0.0) + time.perf_counter() - start
        return [list(out.outputs[0].token_ids) for out in outputs]

    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            self.engine = None
            del engine
