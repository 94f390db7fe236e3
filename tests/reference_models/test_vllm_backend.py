"""The vLLM back end: exported base weights and LoRA reproduce the torch model's greedy tokens
(checked on CPU through a transformers stand-in for vllm; on a GPU with vllm installed, through
vLLM itself), sampling settings and the errors a user sees."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM

from reference_models.video_salmonn import (
    DecodeOptions,
    HFBackend,
    VideoSalmonn,
    VllmBackend,
    apply_overrides,
    build_model,
    export_llm_folder,
    get_preset,
    import_vllm,
    sampling_params,
    unpadded_embeds,
    vllm_lora_rank,
)
from tests.reference_models import fake_vllm
from tests.reference_models.conftest import make_sample

FIXED = DecodeOptions(max_new_tokens=12, min_new_tokens=12)
HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def trained_lora(model: VideoSalmonn, seed: int = 5) -> VideoSalmonn:
    """Give LoRA B non-zero weights (a fresh LoRA is a no-op, which would hide a dropped LoRA)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.llm.named_parameters():
            if ".lora_B." in name:
                param.copy_(0.5 * torch.randn(param.shape, generator=generator))
    return model


@pytest.fixture(scope="module")
def model() -> VideoSalmonn:
    built, _ = build_model(get_preset("tiny"))
    return trained_lora(built)


PROMPTS = ("What happens?", "Who speaks, and what do they say about the weather?", "Describe the sounds.")


def embeds_of(model: VideoSalmonn, seeds: list[int]):
    """Embeddings of a batch whose prompts differ in length (so the batch is left-padded)."""
    samples = [make_sample(s, 10.0, prompt=p) for s, p in zip(seeds, PROMPTS, strict=False)]
    embeds, _ = model.encode(model.prepare(samples))
    return embeds


def test_exported_folder_is_the_base_llm(model: VideoSalmonn, tmp_path: Path) -> None:
    folder = export_llm_folder(model.llm, tmp_path / "llm")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert not [k for k in index["weight_map"] if "lora" in k]
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    loaded = LlamaForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    ids = torch.tensor([[1, 40, 41, 42, 77, 3]])
    saved = {n: p.clone() for n, p in model.llm.named_parameters() if ".lora_B." in n}
    try:
        with torch.no_grad():
            for name, param in model.llm.named_parameters():
                if ".lora_B." in name:
                    param.zero_()  # the base model alone
            expected = model.llm(input_ids=ids).logits
            got = loaded(input_ids=ids).logits
    finally:
        with torch.no_grad():
            for name, param in model.llm.named_parameters():
                if name in saved:
                    param.copy_(saved[name])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_unpadding_keeps_only_real_positions(model: VideoSalmonn) -> None:
    embeds = embeds_of(model, [1, 2, 3])
    rows = unpadded_embeds(embeds.inputs_embeds, embeds.attention_mask)
    lengths = embeds.attention_mask.sum(dim=1).tolist()
    assert [r.shape[0] for r in rows] == lengths and len(set(lengths)) > 1
    width = embeds.inputs_embeds.shape[1]
    for row, n, padded in zip(rows, lengths, embeds.inputs_embeds, strict=True):
        torch.testing.assert_close(row, padded[width - n :])


def test_backend_reproduces_the_torch_tokens_with_the_lora(
    model: VideoSalmonn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_vllm.install(monkeypatch)
    backend = VllmBackend.from_model(model, tmp_path, gpu_memory_utilization=0.3)
    (engine,) = fake_vllm.LLM.instances
    assert engine.kwargs["max_lora_rank"] == 8 and engine.kwargs["gpu_memory_utilization"] == 0.3
    embeds = embeds_of(model, [11, 12, 13])
    tok = model.tokenizer
    args = (embeds.inputs_embeds, embeds.attention_mask, FIXED, tok.eos_token_id, tok.pad_token_id)
    times: dict[str, float] = {}
    expected = HFBackend(model.llm).generate(*args)
    got = backend.generate(*args, times=times)
    assert got == expected and all(len(row) == 12 for row in got)
    assert times["llm_generate_s"] > 0
    without_lora = engine.generate(
        [{"prompt_embeds": e} for e in unpadded_embeds(embeds.inputs_embeds, embeds.attention_mask)],
        sampling_params(FIXED, tok.eos_token_id, fake_vllm.SamplingParams),
    )
    assert [list(o.outputs[0].token_ids) for o in without_lora] != expected


def test_sampling_settings() -> None:
    greedy = sampling_params(
        DecodeOptions(max_new_tokens=64, min_new_tokens=64, repetition_penalty=1.5),
        2,
        fake_vllm.SamplingParams,
        9,
    )
    assert (greedy.temperature, greedy.max_tokens, greedy.min_tokens) == (0.0, 64, 64)
    assert greedy.stop_token_ids == [2] and greedy.repetition_penalty == 1.5 and greedy.seed is None
    sampled = sampling_params(
        DecodeOptions(do_sample=True, temperature=0.7, top_p=0.9), 2, fake_vllm.SamplingParams, 9
    )
    assert (sampled.temperature, sampled.top_p, sampled.seed) == (0.7, 0.9, 9)
    with pytest.raises(ValueError, match="num_beams=5 needs backend=hf"):
        sampling_params(DecodeOptions(num_beams=5), 2, fake_vllm.SamplingParams)


def test_lora_ranks() -> None:
    assert [vllm_lora_rank(r) for r in (1, 4, 8, 32, 33)] == [1, 8, 8, 32, 64]
    with pytest.raises(ValueError, match="above the largest rank"):
        vllm_lora_rank(1024)


@pytest.mark.skipif(HAVE_VLLM, reason="vllm is installed")
def test_missing_vllm_names_the_extra() -> None:
    with pytest.raises(ImportError, match=r"pip install 'savbench\[vllm\]'"):
        import_vllm()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available() or not HAVE_VLLM, reason="needs CUDA and vllm")
def test_real_vllm_agrees_with_transformers(tmp_path: Path) -> None:
    # vLLM's attention kernels want a head size of 64 or more: a small LLM shaped for them.
    config = apply_overrides(
        get_preset("tiny"),
        {"llm": {"hidden_size": 128, "intermediate_size": 256, "heads": 2, "kv_heads": 2, "vocab_size": 128}},
    )
    model, _ = build_model(config, device="cuda", dtype=torch.float32)
    trained_lora(model)
    backend = VllmBackend.from_model(model, tmp_path, gpu_memory_utilization=0.2, enforce_eager=True)
    embeds = embeds_of(model, [21, 22, 23])
    tok = model.tokenizer
    args = (embeds.inputs_embeds, embeds.attention_mask, FIXED, tok.eos_token_id, tok.pad_token_id)
    assert backend.generate(*args) == HFBackend(model.llm).generate(*args)
    backend.close()
