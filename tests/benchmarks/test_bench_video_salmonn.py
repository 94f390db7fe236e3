"""The video-SALMONN benchmark at tiny size on the CPU: both paths run on the same clips, the
fast path batches and decodes in a worker, greedy tokens agree, and the figures add up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._monitor import Monitor, parse_smi_line
from benchmarks._synthetic import ClipSettings, make_clips
from benchmarks.bench_video_salmonn import agreement, main
from savbench.media import load_audio, probe
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "bench_video_salmonn.py"


def test_help_runs_as_a_script() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "--preset" in out.stdout and "video-salmonn-13b" in out.stdout and "--backend" in out.stdout


def test_tiny_fast_path_agrees_with_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    args = ["--preset", "tiny", "--samples", "8", "--seconds", "4", "--new-tokens", "8", "--batch-size", "4",
            "--workers", "1", "--prepare-in-workers", "true", "--media-dir", str(tmp_path / "clips"), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    base, fast = report["paths"]["baseline"], report["paths"]["fast"]
    assert report["agreement"]["samples"] == 8
    assert report["agreement"]["sample_agreement"] == 1.0 and report["agreement"]["token_agreement"] == 1.0
    assert base["batch_sizes"] == [1] * 8 and fast["batch_sizes"] == [4, 4]
    assert report["speedup"] == pytest.approx(fast["samples_per_s"] / base["samples_per_s"], rel=1e-2)
    for path in (base, fast):
        assert path["samples"] == 8 and path["samples_per_s"] == pytest.approx(8 / path["wall_s"], rel=1e-3)
        assert sum(path["stages"].values()) == pytest.approx(path["wall_s"], rel=1e-3)
        for stage in (
            "speech_encoder_s",
            "audio_encoder_s",
            "visual_encoder_s",
            "qformer_s",
            "llm_prefill_s",
        ):
            assert path["stages"][stage] > 0
        assert path["peak_rss_mib"] > 0
    assert base["stages"]["media_decode_s"] > 0 and "media_decode_s" not in fast["stages"]
    assert fast["worker_stages"]["media_decode_s"] > 0 and fast["worker_stages"]["prepare_s"] > 0
    assert fast["workers_peak_rss_mib"] > 0 and base["workers_peak_rss_mib"] == 0
    assert report["settings"]["clip"]["seconds"] == 4 and report["settings"]["new_tokens"] == 8
    printed = capsys.readouterr().out
    assert "speed-up fast/baseline" in printed and "100.0% of samples identical" in printed


def test_agreement_counts_common_prefixes() -> None:
    base = {"a": [1, 2, 3, 4], "b": [5, 6], "c": [7, 8, 9, 9], "only-base": [1]}
    fast = {"a": [1, 2, 3, 4], "b": [5, 7], "c": [7, 8]}
    result = agreement(base, fast)
    assert result["samples"] == 3 and result["sample_agreement"] == pytest.approx(1 / 3)
    assert result["token_agreement"] == pytest.approx((1 + 1 / 2 + 2 / 4) / 3)
    assert result["differing"] == [
        {"id": "b", "first_difference_at": 1},
        {"id": "c", "first_difference_at": 2},
    ]


def test_clips_are_distinct_cached_and_as_asked(tmp_path: Path) -> None:
    settings = ClipSettings(seconds=3.0, fps=10, width=64, height=48, gop=20)
    first = make_clips(tmp_path, 2, settings)
    stamps = [p.stat().st_mtime_ns for p in first]
    again = make_clips(tmp_path, 2, settings)
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps
    info = probe(first[0])
    assert info.has_audio and info.has_video and info.width == 64 and info.height == 48
    assert info.duration == pytest.approx(3.0, abs=0.1) and info.fps == pytest.approx(10)
    assert first[0].read_bytes() != first[1].read_bytes()
    assert load_audio(first[0]).std() > 0.01


def test_gpu_busy_is_the_mean_inside_the_window() -> None:
    assert parse_smi_line("2026/01/31 12:00:00.250, 87") is not None
    assert parse_smi_line("[N/A]") is None
    monitor = Monitor()
    monitor.gpu_samples = [(1.0, 10.0), (2.0, 90.0), (3.0, 100.0), (4.0, 0.0)]
    assert monitor.gpu_busy(1.5, 3.5) == pytest.approx(0.95)
    assert monitor.gpu_busy(5.0, 6.0) is None
