"""Shapes at every stage for 30 s of audio and video at tiny size, and for the other input mixes.

Expected sizes come from the official pipeline: Whisper gives 1500 frames for 30 s; BEATs gives
8 frequency patches per 16 fbank frames (2998 frames -> 187 x 8 = 1496 tokens); video gives 2
frames per second, i.e. 60 steps of 0.5 s, 32 tokens each; 60 steps make 6 windows of 10.
"""

from __future__ import annotations

import pytest

from reference_models.video_salmonn import VideoSalmonn, apply_overrides, build_model, get_preset
from tests.reference_models.conftest import make_sample


def test_stage_shapes_for_30s_audio_visual(tiny: VideoSalmonn) -> None:
    cfg = tiny.config
    batch = tiny.prepare([make_sample(0, 30.0)])
    assert batch.mel is not None and batch.mel.shape == (1, 80, 3000)
    assert batch.pixels is not None and batch.pixels.shape == (60, 3, 28, 28)
    speech = tiny.encode_speech(batch)
    assert speech is not None and speech.shape == (1, 1500, cfg.speech.d_model)
    audio = tiny.encode_audio(batch)
    assert audio is not None and audio.shape == (1, 1496, 16)
    visual = tiny.encode_visual(batch)
    assert visual is not None and visual.shape == (60, 32, cfg.visual_qformer.hidden_size)
    audio_feats = tiny.sync.audio_features(speech, audio)
    assert audio_feats.shape == (1, 1500, 2 * 16)
    sequence = tiny.sync.synchronise(visual, audio_feats[0])
    assert sequence.shape == (60 * 32, cfg.joint_width)
    out = tiny.qformer(batch, speech, audio, visual)
    assert out.windows == [6]
    assert out.high.shape == (6, cfg.sync.num_queries, 16)
    assert out.tokens[0].shape == (6 * cfg.sync.num_queries, 2 * 16)
    tokens = tiny.project(out)
    assert tokens[0].shape == (60, cfg.llm.hidden_size)
    embeds = tiny.build_inputs_embeds(tokens, batch.prompts)
    before = 1 + len(tiny.tokenizer.encode(cfg.prompt.before))
    after = len(tiny.tokenizer.encode(cfg.prompt.after.replace("{prompt}", batch.prompts[0])))
    assert embeds.inputs_embeds.shape == (1, before + 60 + after, cfg.llm.hidden_size)
    assert int(embeds.attention_mask.sum()) == before + 60 + after


@pytest.mark.parametrize(
    ("kwargs", "windows"),
    [
        ({"seconds": 30.0, "video": False}, 6),  # audio only: zero video over Whisper's 60 steps
        ({"seconds": 12.0, "audio": False}, 3),  # video only: 24 steps, padded to 30
        ({"seconds": 5.0, "audio": False, "video": False, "image": True}, 6),  # image: 60 steps
        ({"seconds": 5.0, "video": False, "image": True}, 6),  # image + audio: the audio's steps
        ({"seconds": 45.0}, 9),  # 45 s video (90 steps) with audio cut at 30 s
    ],
)
def test_windows_per_input_mix(tiny: VideoSalmonn, kwargs: dict, windows: int) -> None:
    batch = tiny.prepare([make_sample(1, **kwargs)])
    out = tiny.qformer(batch, tiny.encode_speech(batch), tiny.encode_audio(batch), tiny.encode_visual(batch))
    assert out.windows == [windows]
    assert out.tokens[0].shape[0] == windows * tiny.config.sync.num_queries


def test_batch_of_mixed_lengths_is_left_padded(tiny: VideoSalmonn) -> None:
    batch = tiny.prepare([make_sample(2, 30.0), make_sample(3, 12.0, audio=False)])
    embeds, out = tiny.encode(batch)
    assert out.windows == [6, 3]
    mask = embeds.attention_mask
    assert mask.shape[0] == 2 and mask[0].all()
    pad = mask.shape[1] - int(mask[1].sum())
    assert pad == 3 * tiny.config.sync.num_queries  # same prompt, 3 windows fewer
    assert not mask[1, :pad].any() and mask[1, pad:].all()


def test_favor_layout_single_resolution() -> None:
    cfg = apply_overrides(get_preset("tiny"), {"sync": {"low_groupsize": None, "use_beats": False}})
    cfg = type(cfg)(**{**cfg.__dict__, "beats": None})
    model, _ = build_model(cfg)
    batch = model.prepare([make_sample(4, 30.0)])
    out = model.qformer(
        batch, model.encode_speech(batch), model.encode_audio(batch), model.encode_visual(batch)
    )
    assert model.audio is None
    assert out.tokens[0].shape == (60, 16)  # one resolution: width of one Q-Former output
    assert model.proj.in_features == 16
