"""CPU preprocessing runs apart from the model (picklable, for data-loader workers) and batches
prepared one sample at a time join into the batch prepared at once; LoRA exports as a peft
adapter."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch
from safetensors.torch import load_file

from reference_models.video_salmonn import VideoSalmonn, export_peft_lora, merge_batches
from tests.reference_models.conftest import make_sample


def test_merged_single_sample_batches_equal_one_batch(tiny: VideoSalmonn) -> None:
    samples = [
        make_sample(60, 6.0),
        make_sample(61, 4.0, audio=False, prompt="a much longer question about the clip"),
        make_sample(62, 3.0, video=False),
        make_sample(63, 2.0, audio=False, video=False, image=True),
    ]
    preprocessor = pickle.loads(pickle.dumps(tiny.preprocessor))
    merged = merge_batches([preprocessor([s]) for s in samples])
    whole = tiny.prepare(samples)
    assert merged.audio_rows == whole.audio_rows == [0, None, 1, None]
    assert merged.frame_spans == whole.frame_spans
    assert merged.is_image == whole.is_image == [False, False, False, True]
    for name in ("mel", "pixels", "instruction_ids", "instruction_mask"):
        assert torch.equal(getattr(merged, name), getattr(whole, name)), name
    assert tiny.generate(merged) == tiny.generate(whole)


def test_lora_exports_as_peft_adapter(tiny: VideoSalmonn, tmp_path: Path) -> None:
    folder = export_peft_lora(tiny, tmp_path / "lora", base_model="/models/vicuna")
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["lora_alpha"] == 8.0 and config["peft_type"] == "LORA"
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    layers, targets = tiny.config.llm.layers, len(tiny.config.lora.targets)
    assert len(tensors) == 2 * layers * targets
    a = tensors["base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight"]
    assert torch.equal(a, tiny.llm.model.layers[1].self_attn.o_proj.lora_A.weight)
