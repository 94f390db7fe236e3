"""Encoders: BEATs in a batch equals BEATs one sample at a time (what the official code runs);
its relative position buckets have the T5 layout; EVA and the Q-Former keep their shapes."""

from __future__ import annotations

import numpy as np
import torch

from reference_models.video_salmonn import VideoSalmonn
from reference_models.video_salmonn._beats import relative_buckets


def test_beats_batch_equals_one_by_one(tiny: VideoSalmonn) -> None:
    assert tiny.audio is not None
    rng = np.random.default_rng(3)
    waves = [
        torch.from_numpy((0.1 * rng.standard_normal(n)).astype(np.float32)) for n in (16000 * 4, 16000 * 9)
    ]
    with torch.no_grad():
        batched, lengths = tiny.audio(waves)
        alone = [tiny.audio([w])[0][0] for w in waves]
    assert lengths.tolist() == [a.shape[0] for a in alone]
    for i, single in enumerate(alone):
        n = single.shape[0]
        assert torch.allclose(batched[i, :n], single, atol=1e-5)
        assert not batched[i, n:].any()


def test_relative_buckets_layout() -> None:
    buckets = relative_buckets(400, 32, 64, torch.device("cpu"))
    half = 16
    row = buckets[200]  # query 200: key - query runs from -200 to 199
    assert row[200] == 0
    for d in (1, 3, 7, 8, 20, 150):
        assert row[200 + d] - row[200 - d] == half  # keys after the query use the upper half
    distances = row[:201].flip(0)  # keys at distance 0, 1, 2 ... before the query
    assert (distances[1:] >= distances[:-1]).all()
    assert distances[:8].tolist() == list(range(8))  # exact buckets below half // 2
    assert int(buckets.max()) == 31


def test_visual_encoder_gives_32_queries_per_frame(tiny: VideoSalmonn) -> None:
    pixels = torch.randn(5, 3, 28, 28)
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])[[0, 0, 1, 1, 1]]
    mask = (ids != 0).long()
    with torch.no_grad():
        out = tiny.visual(pixels, ids, mask)
        no_text = tiny.visual(pixels)
    assert out.shape == no_text.shape == (5, 32, 16)
    assert not torch.allclose(out, no_text)  # the instruction changes the queries
