"""Synthetic audio-visual clips for benchmarks: mp4 files with an MPEG-4 video track (moving
shapes) and an AAC audio track (tones, chirps and noise), distinct per seed and reproducible.

The clips are written once into a cache folder named after their settings and reused.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClipSettings:
    """What every clip of a set looks like.

    Args:
        seconds: Duration.
        fps: Video frame rate.
        width: Frame width in pixels.
        height: Frame height in pixels.
        gop: Frames between key frames (decoders seek to these).
        sample_rate: Audio rate of the AAC track.
    """

    seconds: float = 30.0
    fps: int = 25
    width: int = 640
    height: int = 360
    gop: int = 50
    sample_rate: int = 16000

    def key(self) -> str:
        text = json.dumps({**asdict(self), "version": FORMAT_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _background(values: np.ndarray, settings: ClipSettings) -> np.ndarray:
    """A colour gradient twice the frame width; frames show a window sliding over it."""
    h, w = settings.height, settings.width
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 2.0, 2 * w, dtype=np.float32)[None, :]
    channels = [0.5 + 0.5 * np.sin(2 * np.pi * (x * values[c] * 2 + y * (c + 1))) for c in range(3)]
    return (255 * np.stack(channels, axis=-1)).astype(np.uint8)


def _frame(background: np.ndarray, values: np.ndarray, index: int, settings: ClipSettings) -> np.ndarray:
    h, w = settings.height, settings.width
    t = index / settings.fps
    shift = int((t * values[3] * 0.25 * w) % w)
    image = background[:, shift : shift + w].copy()
    side = max(4, int(values[5] * min(h, w) * 0.4))
    cy = int((0.5 + 0.4 * np.sin(t * values[4] * 3)) * (h - side))
    cx = int((0.5 + 0.4 * np.cos(t * values[3] * 3)) * (w - side))
    image[cy : cy + side, cx : cx + side] = (255 * values[:3]).astype(np.uint8)
    return image


def _audio(rng: np.random.Generator, settings: ClipSettings) -> np.ndarray:
    n = int(round(settings.seconds * settings.sample_rate))
    t = np.arange(n, dtype=np.float64) / settings.sample_rate
    wave = np.zeros(n, dtype=np.float64)
    for _ in range(4):
        start, freq = rng.uniform(0, settings.seconds), rng.uniform(150, 3000)
        envelope = np.exp(-(((t - start) / rng.uniform(0.3, 3.0)) ** 2))
        wave += 0.2 * envelope * np.sin(2 * np.pi * (freq + 80 * np.sin(t)) * t)
    wave += 0.02 * rng.standard_normal(n)
    return np.clip(wave, -1, 1).astype(np.float32)


def write_clip(path: Path, seed: int, settings: ClipSettings) -> Path:
    """Write one clip (video and audio both ``settings.seconds`` long)."""
    import av

    rng = np.random.default_rng(seed)
    values = rng.uniform(0.2, 1.0, size=6)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as container:
        video = container.add_stream("mpeg4", rate=settings.fps)
        video.width, video.height = settings.width, settings.height
        video.pix_fmt = "yuv420p"
        video.gop_size = settings.gop
        video.bit_rate = 1_000_000
        sound = container.add_stream("aac", rate=settings.sample_rate, layout="mono")
        background = _background(values, settings)
        for i in range(int(round(settings.seconds * settings.fps))):
            frame = av.VideoFrame.from_ndarray(_frame(background, values, i, settings), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        samples = _audio(rng, settings)
        chunk = 1024
        for start in range(0, len(samples), chunk):
            piece = samples[None, start : start + chunk]
            frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
            frame.sample_rate = settings.sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, settings.sample_rate)
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    tmp.replace(path)
    return path


def make_clips(folder: Path, count: int, settings: ClipSettings, workers: int = 1) -> list[Path]:
    """``count`` clips under ``folder/<settings key>/``, written only when missing.

    Args:
        folder: Cache folder.
        count: Number of clips (seeds 0 .. count-1).
        settings: Their shape.
        workers: Processes writing clips in parallel.
    """
    root = folder / settings.key()
    root.mkdir(parents=True, exist_ok=True)
    (root / "settings.json").write_text(json.dumps(asdict(settings), indent=1), encoding="utf-8")
    paths = [root / f"clip-{seed:04d}.mp4" for seed in range(count)]
    missing = [(p, seed) for seed, p in enumerate(paths) if not p.exists()]
    if workers > 1 and len(missing) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(
                pool.map(
                    write_clip, [p for p, _ in missing], [s for _, s in missing], [settings] * len(missing)
                )
            )
    else:
        for path, seed in missing:
            write_clip(path, seed, settings)
    return paths
