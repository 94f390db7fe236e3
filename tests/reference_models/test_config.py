"""Presets carry the released settings; YAML configs are validated with clear errors; the 13B
preset has the released module sizes (built on the meta device, no memory)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reference_models.video_salmonn import (
    CharInstructionTokenizer,
    CharTokenizer,
    VideoSalmonn,
    apply_overrides,
    get_preset,
    load_config_file,
)


def test_video_salmonn_13b_matches_released_config() -> None:
    # Values of config/test.yaml on the videosalmonn branch of bytedance/SALMONN.
    cfg = get_preset("video-salmonn-13b")
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout) == (32, 32.0, 0.1)
    assert cfg.lora.targets == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert (cfg.sync.groupsize, cfg.sync.low_groupsize, cfg.sync.num_queries) == (10, 1, 30)
    assert cfg.sync.low_num_queries == 3
    assert cfg.sync.causal_frames and cfg.beats is not None
    assert cfg.generation.num_beams == 5 and cfg.generation.repetition_penalty == 1.5
    assert cfg.joint_width == 768 * 3
    assert cfg.instruction_max_length == 512


def test_favor_is_single_resolution_without_beats() -> None:
    cfg = get_preset("favor-13b")
    assert cfg.beats is None and cfg.sync.low_groupsize is None
    assert cfg.sync.num_queries == 32 and cfg.sync.groupsize == 10
    assert cfg.joint_width == 768 * 2
    assert "\n#" in cfg.prompt.cut_at


def test_unknown_preset_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="known presets: video-salmonn-13b, favor-13b, tiny"):
        get_preset("video-salmonn-7b")


def test_overrides_are_type_checked_and_validated() -> None:
    cfg = get_preset("tiny")
    assert apply_overrides(cfg, {"sync": {"groupsize": 5}}).sync.groupsize == 5
    with pytest.raises(ValueError, match="unknown field 'sync.group_size'"):
        apply_overrides(cfg, {"sync": {"group_size": 5}})
    with pytest.raises(ValueError, match="sync.groupsize must be an integer"):
        apply_overrides(cfg, {"sync": {"groupsize": "ten"}})
    with pytest.raises(ValueError, match="low_groupsize must divide"):
        apply_overrides(cfg, {"sync": {"low_groupsize": 3}})


def test_yaml_config(tmp_path: Path) -> None:
    good = tmp_path / "m.yaml"
    good.write_text("preset: favor-13b\ncheckpoint: /x/delta.pt\noverrides:\n  generation: {num_beams: 1}\n")
    cfg, files, extra = load_config_file(good)
    assert cfg.name == "favor-13b" and cfg.generation.num_beams == 1
    assert files.checkpoint == "/x/delta.pt" and extra == {}
    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: tiny\noverrides:\n  llm: {layerz: 3}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown field 'llm\.layerz'"):
        load_config_file(bad)
    with pytest.raises(ValueError, match="config file not found"):
        load_config_file(tmp_path / "missing.yaml")


def test_13b_module_sizes_on_meta_device() -> None:
    cfg = get_preset("video-salmonn-13b")
    with torch.device("meta"):
        model = VideoSalmonn(cfg, CharTokenizer(), CharInstructionTokenizer())
    state = model.state_dict()
    assert state["proj.weight"].shape == (5120, 768 * 2)
    assert state["sync.norm.weight"].shape == (768 * 3,)
    assert state["sync.speech_proj.weight"].shape == (768, 1280)
    assert state["sync.audio_proj.weight"].shape == (768, 768)
    assert state["sync.qformer.layers.1.frame_attn.query.weight"].shape == (2304, 2304)
    assert state["sync.qformer.layers.0.cross_attn.key.weight"].shape == (768, 2304)
    assert state["sync.query_tokens"].shape == (1, 30, 768)
    assert state["sync.low_query_tokens"].shape == (1, 3, 768)
    assert state["visual.qformer.embeddings.word.weight"].shape == (30523, 768)
    assert state["visual.qformer.layers.10.cross_attn.key.weight"].shape == (768, 1408)
    assert "visual.qformer.layers.11.cross_attn.key.weight" not in state  # every other layer
    assert state["visual.vit.blocks.38.mlp.fc1.weight"].shape == (6144, 1408)
    assert "visual.vit.blocks.39.norm1.weight" not in state
    assert state["llm.model.layers.39.self_attn.o_proj.lora_B.weight"].shape == (5120, 32)
    llm_params = sum(v.numel() for k, v in state.items() if k.startswith("llm.") and ".lora_" not in k)
    assert 13.0e9 < llm_params < 13.1e9
