"""The frame sampling rules, on plain numbers."""

from __future__ import annotations

import numpy as np
import pytest

from savbench.media import frames_on_screen, sample_times


def test_uniform_samples_are_segment_centres() -> None:
    np.testing.assert_allclose(sample_times(2.0, num_frames=4), [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(sample_times(3.0, num_frames=1), [1.5])


def test_fps_samples_are_period_centres_capped_uniformly() -> None:
    np.testing.assert_allclose(sample_times(2.2, fps=2), [0.25, 0.75, 1.25, 1.75])  # 4 whole periods
    np.testing.assert_allclose(sample_times(0.4, fps=1), [0.2])  # shorter than a period: its middle
    np.testing.assert_allclose(sample_times(10.0, fps=4, max_frames=5), [1, 3, 5, 7, 9])
    np.testing.assert_allclose(sample_times(1.0, max_frames=2), [0.25, 0.75])  # neither given


def test_frame_on_screen_is_the_last_started() -> None:
    pts = np.array([0.0, 0.1, 0.2, 1.5])
    assert frames_on_screen(pts, np.array([0.05, 0.1, 0.15, 1.6, 2.0])).tolist() == [0, 1, 3]
    assert frames_on_screen(np.array([0.5, 1.0]), np.array([0.1])).tolist() == [0]  # before the first
    # single-precision timestamps still count as the boundary they round
    assert frames_on_screen(np.array([0.0, np.float32(0.3)]), np.array([0.3])).tolist() == [1]
    assert frames_on_screen(np.array([0.0, 0.3 + 1e-4]), np.array([0.3])).tolist() == [0]


@pytest.mark.parametrize(
    "kwargs",
    [{"num_frames": 2, "fps": 1.0}, {"num_frames": 0}, {"fps": 0.0}, {"max_frames": 0}],
)
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        sample_times(1.0, **kwargs)
