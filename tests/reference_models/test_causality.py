"""The Q-Former windows are causal: window t's output does not change when later frames change,
and does change when a frame inside window t changes. Also the block mask the official code uses
inside a window."""

from __future__ import annotations

import numpy as np
import torch

from reference_models.video_salmonn import AVSample, VideoSalmonn, frame_block_mask
from tests.reference_models.conftest import make_sample


def _window_outputs(model: VideoSalmonn, sample: AVSample) -> torch.Tensor:
    batch = model.prepare([sample])
    with torch.no_grad():
        out = model.qformer(
            batch, model.encode_speech(batch), model.encode_audio(batch), model.encode_visual(batch)
        )
    per_window = model.config.sync.num_queries
    return out.tokens[0].view(-1, per_window, out.tokens[0].shape[-1])  # (windows, Q, width)


def _with_frames_changed(sample: AVSample, start_s: float, stop_s: float) -> AVSample:
    assert sample.frames is not None and sample.timestamps is not None
    frames = sample.frames.copy()
    chosen = (sample.timestamps >= start_s) & (sample.timestamps < stop_s)
    frames[chosen] = 255 - frames[chosen]
    return AVSample(
        prompt=sample.prompt,
        audio=sample.audio,
        frames=frames,
        timestamps=sample.timestamps,
        duration=sample.duration,
        source_fps=sample.source_fps,
    )


def test_later_frames_do_not_change_earlier_windows(tiny: VideoSalmonn) -> None:
    # 30 s, 60 steps of 0.5 s, windows of 10 steps = 5 s each.
    base = make_sample(7, 30.0)
    reference = _window_outputs(tiny, base)
    changed = _window_outputs(tiny, _with_frames_changed(base, 20.0, 30.0))  # windows 4 and 5
    assert torch.equal(changed[:4], reference[:4])
    assert not torch.allclose(changed[4], reference[4])
    assert not torch.allclose(changed[5], reference[5])


def test_a_frame_inside_a_window_changes_that_window_only(tiny: VideoSalmonn) -> None:
    base = make_sample(8, 30.0)
    reference = _window_outputs(tiny, base)
    changed = _window_outputs(tiny, _with_frames_changed(base, 12.0, 12.5))  # one step of window 2
    differs = [not torch.allclose(changed[w], reference[w]) for w in range(reference.shape[0])]
    assert differs == [False, False, True, False, False, False]


def test_block_mask_lets_a_step_see_itself_and_later_steps() -> None:
    mask = frame_block_mask(6, 2, torch.device("cpu"), torch.float32)[0, 0]
    keep = (mask == 0).int().numpy()
    expected = np.kron(np.triu(np.ones((3, 3), dtype=int)), np.ones((2, 2), dtype=int))
    assert (keep == expected).all()
