"""Checkpoints in the official layout: a synthetic tiny set of the six official files loads with
no missing keys and reproduces the model exactly; bad files fail with the file and key named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from reference_models.video_salmonn import (
    CheckpointError,
    DecodeOptions,
    ModelFiles,
    VideoSalmonn,
    build_model,
    export_official,
    get_preset,
    internal_to_official,
    official_to_internal,
)
from tests.reference_models.conftest import make_sample


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[VideoSalmonn, dict[str, str]]:
    model, _ = build_model(get_preset("tiny"))
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for param in model.parameters():  # every weight non-trivial, LoRA B included
            param.add_(0.05 * torch.randn(param.shape, generator=generator))
    paths = export_official(model, tmp_path_factory.mktemp("official"))
    return model, paths


def test_round_trip_loads_everything_and_reproduces_outputs(
    exported: tuple[VideoSalmonn, dict[str, str]],
) -> None:
    original, paths = exported
    loaded, reports = build_model(get_preset("tiny"), ModelFiles(**paths))
    assert {r.role for r in reports} == {
        "checkpoint",
        "llm_path",
        "whisper_path",
        "beats_path",
        "eva_path",
        "instructblip_path",
    }
    assert all(not r.missing and not r.unexpected for r in reports)
    a, b = original.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    samples = [make_sample(20, 30.0), make_sample(21, 8.0, audio=False)]
    options = DecodeOptions(max_new_tokens=12, repetition_penalty=1.5)
    assert original.generate(samples, options) == loaded.generate(samples, options)


def test_official_delta_layout(exported: tuple[VideoSalmonn, dict[str, str]]) -> None:
    _, paths = exported
    delta = torch.load(paths["checkpoint"], weights_only=True)
    assert "video_Qformer.bert.encoder.layer.0.encoder_causal_attention.self.query.weight" in delta
    assert "llama_model.base_model.model.model.layers.1.self_attn.v_proj.lora_A.default.weight" in delta
    assert {"video_query_tokens", "low_query_tokens", "llama_proj.weight", "ln_video.weight"} <= set(delta)
    assert not any(k.startswith(("Qformer.", "visual_encoder.", "beats.")) for k in delta)


def test_key_mapping_is_invertible_and_knows_aliases(tiny: VideoSalmonn) -> None:
    for key in tiny.state_dict():
        assert official_to_internal(internal_to_official(key)).target == key
    assert official_to_internal("joint_Qformer.bert.embeddings.LayerNorm.weight").target == (
        "sync.qformer.embeddings.norm.weight"
    )
    assert official_to_internal("llama_proj_joint.bias").target == "proj.bias"
    unused = official_to_internal("low_Qformer.bert.encoder.layer.0.attention.self.query.weight")
    assert unused.target is None and "unused" in (unused.reason or "")


def test_aliases_and_unused_keys_are_reported(
    exported: tuple[VideoSalmonn, dict[str, str]], tmp_path: Path
) -> None:
    _, paths = exported
    delta = torch.load(paths["checkpoint"], weights_only=True)
    renamed = {k.replace("video_Qformer.", "joint_Qformer."): v for k, v in delta.items()}
    renamed["low_Qformer.bert.encoder.layer.0.attention.self.query.weight"] = torch.zeros(2, 2)
    renamed["some_new_module.weight"] = torch.zeros(2)
    torch.save(renamed, tmp_path / "delta.pt")
    files = ModelFiles(**{**paths, "checkpoint": str(tmp_path / "delta.pt")})
    _, reports = build_model(get_preset("tiny"), files)
    report = next(r for r in reports if r.role == "checkpoint")
    assert report.unexpected == ["some_new_module.weight"]
    assert "low_Qformer.bert.encoder.layer.0.attention.self.query.weight" in report.ignored
    assert not report.missing


def test_missing_key_is_named(exported: tuple[VideoSalmonn, dict[str, str]], tmp_path: Path) -> None:
    _, paths = exported
    delta = torch.load(paths["checkpoint"], weights_only=True)
    del delta["low_query_tokens"]
    torch.save(delta, tmp_path / "delta.pt")
    files = ModelFiles(**{**paths, "checkpoint": str(tmp_path / "delta.pt")})
    with pytest.raises(
        CheckpointError, match=r"delta\.pt: checkpoint: 1 model parameters .*sync\.low_query_tokens"
    ):
        build_model(get_preset("tiny"), files)
    _, reports = build_model(get_preset("tiny"), files, strict=False)
    assert next(r for r in reports if r.role == "checkpoint").missing == ["sync.low_query_tokens"]


def test_shape_mismatch_names_file_and_key(
    exported: tuple[VideoSalmonn, dict[str, str]], tmp_path: Path
) -> None:
    _, paths = exported
    delta = torch.load(paths["checkpoint"], weights_only=True)
    delta["ln_video.weight"] = torch.ones(7)
    torch.save(delta, tmp_path / "other.pt")
    files = ModelFiles(**{**paths, "checkpoint": str(tmp_path / "other.pt")})
    with pytest.raises(
        CheckpointError, match=r"other\.pt: ln_video\.weight: checkpoint: shape mismatch: checkpoint \(7,\)"
    ):
        build_model(get_preset("tiny"), files)


def test_files_that_are_not_checkpoints(
    exported: tuple[VideoSalmonn, dict[str, str]], tmp_path: Path
) -> None:
    _, paths = exported
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all" * 20)
    pickled = tmp_path / "pickled.pt"
    torch.save(
        {"model": {"w": torch.zeros(1)}, "opts": argparse.Namespace(lr=1)}, pickled
    )  # like LAVIS configs
    wrong = tmp_path / "wrong.pt"
    torch.save({"model": {"w": torch.zeros(1)}}, wrong)
    cases = [
        ("eva_path", tmp_path / "absent.pth", "eva_path: file not found"),
        ("eva_path", garbage, "eva_path: not a PyTorch or safetensors checkpoint"),
        ("instructblip_path", pickled, "instructblip_path: refused to load: the file holds pickled objects"),
        ("instructblip_path", wrong, "instructblip_path: no key of this file belongs to the model"),
    ]
    for role, path, message in cases:
        files = ModelFiles(**{**paths, role: str(path)})
        with pytest.raises(CheckpointError, match=message) as info:
            build_model(get_preset("tiny"), files)
        assert str(path) in str(info.value)


def test_real_presets_require_their_paths() -> None:
    with pytest.raises(ValueError, match="needs these paths: checkpoint, llm_path, whisper_path, eva_path"):
        build_model(get_preset("favor-13b"))
