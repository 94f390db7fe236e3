"""The video-SALMONN adapters behind the harness interface, exercised with the tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_adapters.video_salmonn import FavorAdapter, VideoSalmonnAdapter, VideoSalmonnTinyAdapter
from savbench.adapters import GenerationSettings, Request, SampleFailure, build_adapter
from savbench.data import Sample
from savbench.media import VideoClip


def make_request(
    i: int,
    seconds: float = 10.0,
    *,
    audio: bool = True,
    video: bool = True,
    image: bool = False,
    max_new_tokens: int = 10,
    stop: tuple[str, ...] = (),
    sample_rate: int = 16000,
) -> Request:
    rng = np.random.default_rng(i)
    clip = None
    if video:
        count = int(seconds * 4)  # decoded at 4 fps
        clip = VideoClip(
            frames=rng.integers(0, 256, size=(count, 24, 32, 3), dtype=np.uint8),
            timestamps=np.arange(count) / 4.0,
            duration=seconds,
            source_fps=4.0,
        )
    return Request(
        sample=Sample(id=f"s{i}", task="t", question="q", references=("r",)),
        prompt=f"Question {i}: what do you see and hear?",
        modalities=frozenset({"speech", "audio", "video", "image"}),
        audio=(0.1 * rng.standard_normal(int(sample_rate * seconds))).astype(np.float32) if audio else None,
        sample_rate=sample_rate,
        video=clip,
        image=rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8) if image else None,
        generation=GenerationSettings(max_new_tokens=max_new_tokens, stop=stop),
        seed=i,
    )


@pytest.fixture(scope="module")
def adapter() -> VideoSalmonnTinyAdapter:
    built = build_adapter("video-salmonn-tiny")
    assert isinstance(built, VideoSalmonnTinyAdapter)
    return built


def test_registry_names() -> None:
    from savbench.adapters import get_adapter_class

    assert get_adapter_class("video-salmonn") is VideoSalmonnAdapter
    assert get_adapter_class("favor") is FavorAdapter
    assert VideoSalmonnTinyAdapter.modalities == {"speech", "audio", "video", "image"}


def test_every_input_mix_gets_an_answer(adapter: VideoSalmonnTinyAdapter) -> None:
    requests = [
        make_request(0, 30.0),
        make_request(1, audio=False),
        make_request(2, video=False),
        make_request(3, audio=False, video=False, image=True),
        make_request(4, video=False, image=True),
        make_request(5, audio=False, video=False),
    ]
    out = adapter.generate(requests)
    assert all(isinstance(o, str) and o for o in out[:5])
    assert isinstance(out[5], SampleFailure) and "no audio, video or image" in out[5].message


def test_deterministic_and_batch_invariant(adapter: VideoSalmonnTinyAdapter) -> None:
    requests = [make_request(i, seconds=float(s)) for i, s in enumerate((3, 12, 30, 7), start=10)]
    together = adapter.generate(requests)
    alone = [adapter.generate([r])[0] for r in requests]
    again = VideoSalmonnTinyAdapter(batch_size="2").generate(requests)
    assert together == alone == again


def test_audio_changes_the_answer(adapter: VideoSalmonnTinyAdapter) -> None:
    base = [make_request(20 + i, video=False) for i in range(4)]
    answers = adapter.generate(base)
    assert len(set(answers)) == 4


def test_token_budget_and_stop_strings(adapter: VideoSalmonnTinyAdapter) -> None:
    (short,) = adapter.generate([make_request(30, max_new_tokens=4)])
    assert isinstance(short, str) and 0 < len(short) <= 4
    (full,) = adapter.generate([make_request(31, max_new_tokens=12)])
    assert isinstance(full, str) and len(full) > 3
    (cut,) = adapter.generate([make_request(31, max_new_tokens=12, stop=(full[3],))])
    assert cut == full.split(full[3], 1)[0].strip()


def test_other_sample_rates_are_resampled(adapter: VideoSalmonnTinyAdapter) -> None:
    (answer,) = adapter.generate([make_request(32, video=False, sample_rate=8000)])
    assert isinstance(answer, str) and answer


def test_fingerprint_follows_the_weights() -> None:
    a = VideoSalmonnTinyAdapter().fingerprint()
    b = VideoSalmonnTinyAdapter(seed="7").fingerprint()
    assert a["adapter"] == "video-salmonn-tiny" and a["dtype"] == "fp32"
    assert a["config_sha256"] != b["config_sha256"]
    assert "zero audio features" in a["notes"]


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown model argument\(s\) \['temprature'\]"):
        VideoSalmonnTinyAdapter(temprature="0")
    with pytest.raises(ValueError, match="dtype must be one of"):
        VideoSalmonnTinyAdapter(dtype="int8")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        VideoSalmonnTinyAdapter(batch_size="0")
    with pytest.raises(ValueError, match="decoding must be"):
        VideoSalmonnTinyAdapter(decoding="fast")
    with pytest.raises(ValueError, match="needs these paths: checkpoint, llm_path"):
        VideoSalmonnAdapter(device="cpu")
    config = tmp_path / "favor.yaml"
    config.write_text("preset: favor-13b\nllm_pth: /x\n")
    with pytest.raises(ValueError, match=r"favor\.yaml: unknown top-level key\(s\) \['llm_pth'\]"):
        FavorAdapter(config=str(config), device="cpu")


def test_favor_code_path_through_a_config_file(tmp_path: Path) -> None:
    # The FAVOR preset (single resolution, no BEATs) shrunk to tiny sizes with random weights.
    config = tmp_path / "favor_tiny.yaml"
    config.write_text(
        """
preset: favor-13b
overrides:
  tokenizer: tiny
  speech: {d_model: 16, layers: 1, heads: 2, ffn_dim: 32}
  vit: {image_size: 28, width: 16, depth: 1, heads: 2, mlp_dim: 32}
  visual_qformer: {hidden_size: 16, layers: 2, heads: 2, intermediate_size: 32, encoder_width: 16, vocab_size: 104}
  av_qformer: {hidden_size: 16, heads: 2, intermediate_size: 32}
  sync: {num_queries: 8}
  llm: {vocab_size: 100, hidden_size: 32, intermediate_size: 64, layers: 1, heads: 4, kv_heads: 4}
  lora: {r: 2, alpha: 4.0}
"""
    )
    favor = FavorAdapter(config=str(config), device="cpu", random_weights="true")
    assert favor.model.audio is None and favor.model.sync.low_query_tokens is None
    out = favor.generate([make_request(40, 12.0), make_request(41, video=False)])
    assert all(isinstance(o, str) for o in out)
    assert favor.fingerprint()["preset"] == "favor-13b"
