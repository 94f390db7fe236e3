#!/usr/bin/env python3
"""Build the bundled ``mini`` benchmark under ``tasks/mini``.

Every sample is synthesised from parameters drawn with fixed seeds, so its ground truth is known
by construction: speech comes from espeak-ng reading a known sentence, sounds are tones, chirps,
clicks and noise with known onsets, and videos are rendered shapes with known colours, counts,
positions and motion. The manifests (``*.jsonl``), the media under ``media/`` and
``BUILD_INFO.json`` (tool versions, settings and the sha256 of every file) are written; the task
YAML files next to them are maintained by hand and left alone.

Rerunning with the same espeak-ng, FFmpeg (PyAV), libsndfile and Pillow versions gives the same
bytes: seeds are fixed, x264 runs single-threaded, and containers are written bit-exact (no
timestamps, no muxer version strings).

Usage::

    apt-get install -y espeak-ng
    python scripts/build_mini_benchmark.py                      # rebuild tasks/mini
    python scripts/build_mini_benchmark.py --out /tmp/mini --tasks mini_asr,mini_avm --limit 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw
from PIL import __version__ as PIL_VERSION

SEED = 2024
SAMPLE_RATE = 16000
ESPEAK_RATE = 22050
FPS = 10
SIZE = 128
SUPERSAMPLE = 2
SAMPLES_PER_TASK = 32
X264_OPTIONS = {"crf": "23", "preset": "medium", "threads": "1"}
AAC_BITRATE = 24000
SPEECH_PEAK = 0.6
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "tasks" / "mini"

COLOURS = ("red", "green", "blue", "yellow")
RGB = {"red": (215, 45, 45), "green": (40, 160, 60), "blue": (45, 85, 215), "yellow": (235, 200, 35)}
SHAPES = ("circle", "square", "triangle", "diamond")
DIRECTIONS = ("left", "right", "up", "down")
DIRECTION_VECTORS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
COUNTS = ("1", "2", "3", "4")
BACKGROUND = (150, 150, 150)
GRID9 = tuple((22 + 42 * col, 22 + 42 * row) for row in range(3) for col in range(3))
QUADRANTS = ((32, 32), (96, 32), (32, 96), (96, 96))
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}

ESPEAK_LANGUAGES = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland")
ESPEAK_VARIANTS = ("m1", "m3", "m7", "f1", "f2", "f4")

ASR_SENTENCES = (
    "The old man carried a basket of apples to the market.",
    "Please close the window before the rain starts.",
    "A small dog was sleeping under the kitchen table.",
    "We walked along the river until the sun went down.",
    "She painted the front door a bright shade of green.",
    "The train to the city leaves early in the morning.",
    "My brother plays the piano every Sunday afternoon.",
    "The children built a tall castle out of sand.",
    "Turn left at the bridge and follow the narrow road.",
    "The library opens late on the first day of the month.",
    "A cold wind blew across the empty field.",
    "He forgot his umbrella on the bus again.",
    "The baker sells fresh bread and sweet cakes.",
    "Our teacher read us a story about a brave sailor.",
    "The lamp on the desk gives a warm yellow light.",
    "Two birds were singing on the garden fence.",
    "The museum has a large collection of old maps.",
    "Put the blue cup on the top shelf.",
    "The farmer counted the sheep in the green meadow.",
    "A loud knock at the door woke everyone up.",
    "The soup needs a little more salt and pepper.",
    "They planted six young trees beside the school.",
    "The pilot said we would land in ten minutes.",
    "Her new bicycle has a silver bell and a basket.",
    "The moon was bright above the quiet village.",
    "I left my keys next to the telephone.",
    "The doctor asked him to rest for a few days.",
    "A long line of cars waited at the traffic light.",
    "The cat jumped onto the roof of the shed.",
    "We need more paper for the printer in the office.",
    "The storm knocked down several branches last night.",
    "He wrote a letter to his grandmother in the country.",
    "Fresh snow covered the hills behind the town.",
    "The water in the lake was calm and clear.",
    "She found a coin under the sofa cushion.",
    "The band played music until midnight.",
    "Every morning he drinks a glass of orange juice.",
    "The boat drifted slowly toward the harbor.",
    "Please write your name at the top of the page.",
    "The garden gate creaks when the wind is strong.",
)

# Short command sentences in the style of the GRID audio-visual corpus: a small closed grammar of
# command, colour, preposition, letter, digit and adverb. Letters that sound like common words
# (a, b, c, i, o, p, q, r, t, u, w, y) are left out so that a correct hearing has one spelling.
GRID_COMMANDS = ("bin", "lay", "place", "set")
GRID_COLOURS = ("blue", "green", "red", "white")
GRID_PREPOSITIONS = ("at", "by", "in", "with")
GRID_LETTERS = tuple("defghjklmnsvxz")
GRID_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
GRID_ADVERBS = ("again", "now", "please", "soon")


# --------------------------------------------------------------------------------------------
# Seeds, files and the build context


def task_rng(task: str) -> random.Random:
    """The planning RNG of one task (string seeds hash the same way on every run)."""
    return random.Random(f"savbench-mini:{SEED}:{task}")


def sample_np_rng(task: str, index: int) -> np.random.Generator:
    """A per-sample RNG for rendering noise, independent of which other samples are rendered."""
    return np.random.default_rng([SEED, zlib.crc32(task.encode()), index])


def balanced_positions(rng: random.Random, n: int, k: int) -> list[int]:
    """``n`` answer positions in ``range(k)``, each used equally often, in shuffled order."""
    positions = [i % k for i in range(n)]
    rng.shuffle(positions)
    return positions


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Voice:
    """espeak-ng voice settings: language, voice variant, words per minute and pitch (0-99)."""

    language: str
    variant: str
    speed: int
    pitch: int

    @property
    def name(self) -> str:
        return f"{self.language}+{self.variant}"

    def meta(self) -> dict[str, Any]:
        return {"voice": self.name, "speed_wpm": self.speed, "pitch": self.pitch}


def pick_voice(rng: random.Random) -> Voice:
    return Voice(
        language=rng.choice(ESPEAK_LANGUAGES),
        variant=rng.choice(ESPEAK_VARIANTS),
        speed=rng.randrange(135, 180, 5),
        pitch=rng.randrange(35, 70, 5),
    )


def resample_22050_to_16000(x: np.ndarray) -> np.ndarray:
    """Band-limited resampling by FFT (ratio 320/441), float64 throughout.

    Zero padding to a multiple of 441 samples (plus a margin) keeps the circular FFT from
    wrapping the end of the utterance onto its start.
    """
    n = len(x)
    padded = int(math.ceil((n + 2 * 441) / 441) * 441)
    out_len = padded * 320 // 441
    spectrum = np.fft.rfft(x.astype(np.float64), padded)
    kept = spectrum[: out_len // 2 + 1].copy()
    kept[-1] = 0.0  # the new Nyquist bin would alias
    y = np.fft.irfft(kept, out_len) * (out_len / padded)
    return y[: int(round(n * 320 / 441))]


class Speaker:
    """espeak-ng, called as a subprocess, with its output trimmed and resampled to 16 kHz."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self._tmp = tempfile.TemporaryDirectory(prefix="savbench-mini-")
        self._cache: dict[tuple[str, Voice], np.ndarray] = {}

    def version(self) -> str:
        out = subprocess.run([self.executable, "--version"], capture_output=True, text=True, check=True)
        return out.stdout.split("Data at:")[0].strip()

    def say(self, text: str, voice: Voice, peak: float = SPEECH_PEAK) -> np.ndarray:
        """Speech for ``text`` as float64 at 16 kHz, silence trimmed, peak-normalised."""
        key = (text, voice)
        if key not in self._cache:
            wav = Path(self._tmp.name) / "say.wav"
            cmd = [self.executable, "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch)]
            result = subprocess.run([*cmd, "-w", str(wav), text], capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(
                    f"espeak-ng failed on {text!r} with voice {voice.name}: {result.stderr.strip()}"
                )
            raw, rate = sf.read(wav, dtype="float64")
            if rate != ESPEAK_RATE:
                raise RuntimeError(f"espeak-ng wrote {rate} Hz audio; the build expects {ESPEAK_RATE} Hz")
            speech = resample_22050_to_16000(raw)
            loud = np.flatnonzero(np.abs(speech) > 0.02 * np.abs(speech).max())
            start = max(0, loud[0] - int(0.02 * SAMPLE_RATE))
            end = min(len(speech), loud[-1] + int(0.05 * SAMPLE_RATE))
            speech = speech[start:end]
            self._cache[key] = speech * (peak / np.abs(speech).max())
        return self._cache[key].copy()

    def close(self) -> None:
        self._tmp.cleanup()


@dataclass
class Context:
    """Output folder, which samples to render, and the speech synthesiser."""

    out: Path
    speaker: Speaker
    limit: int | None = None

    def render(self, index: int) -> bool:
        return self.limit is None or index < self.limit

    def media(self, relative: str) -> Path:
        path = self.out / "media" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_flac(self, relative: str, audio: np.ndarray) -> None:
        sf.write(self.media(relative), to_int16(audio), SAMPLE_RATE, format="FLAC", subtype="PCM_16")

    def write_png(self, relative: str, image: np.ndarray) -> None:
        Image.fromarray(image).save(self.media(relative), format="PNG", compress_level=9)

    def write_mp4(self, relative: str, frames: Sequence[np.ndarray], audio: np.ndarray | None) -> None:
        write_mp4(self.media(relative), frames, audio)


# --------------------------------------------------------------------------------------------
# Audio synthesis


def seconds(n: float) -> int:
    return int(round(n * SAMPLE_RATE))


def silence(duration: float) -> np.ndarray:
    return np.zeros(seconds(duration))


def faded(x: np.ndarray, fade: float = 0.01) -> np.ndarray:
    """Raised-cosine fade in and out, so that onsets do not click."""
    n = min(seconds(fade), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def tone(freq: float, duration: float, amp: float = 0.4) -> np.ndarray:
    t = np.arange(seconds(duration)) / SAMPLE_RATE
    return faded(amp * np.sin(2 * np.pi * freq * t))


def chirp(f0: float, f1: float, duration: float, amp: float = 0.4) -> np.ndarray:
    """Exponential sweep from ``f0`` to ``f1`` Hz."""
    t = np.arange(seconds(duration)) / SAMPLE_RATE
    k = math.log(f1 / f0)
    phase = 2 * np.pi * f0 * duration / k * (np.exp(k * t / duration) - 1.0)
    return faded(amp * np.sin(phase))


def noise(duration: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    return faded(amp * rng.uniform(-1.0, 1.0, seconds(duration)), fade=0.02)


def click(amp: float = 0.6) -> np.ndarray:
    """A 15 ms decaying 2 kHz click."""
    t = np.arange(seconds(0.015)) / SAMPLE_RATE
    return amp * np.sin(2 * np.pi * 2000 * t) * np.exp(-t / 0.003)


def thud(amp: float = 0.7) -> np.ndarray:
    """A 120 ms decaying low knock, the sound of a bounce."""
    t = np.arange(seconds(0.12)) / SAMPLE_RATE
    return faded(amp * np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.035), fade=0.002)


def place(track: np.ndarray, sound: np.ndarray, at: float) -> None:
    """Add ``sound`` into ``track`` starting at ``at`` seconds (clipped at the end)."""
    start = seconds(at)
    end = min(len(track), start + len(sound))
    track[start:end] += sound[: end - start]


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------------------------
# Drawing and encoding


@dataclass(frozen=True)
class Obj:
    """One shape in a scene: centre at t=0, half-size, velocity (px/s), appearance time and
    pulse intervals (seconds) during which it is drawn larger and brighter."""

    shape: str
    colour: str
    x: float
    y: float
    r: float = 11.0
    vx: float = 0.0
    vy: float = 0.0
    appear: float = 0.0
    pulses: tuple[tuple[float, float], ...] = ()

    def label(self) -> str:
        return f"{self.colour} {self.shape}"

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "shape": self.shape,
            "colour": self.colour,
            "x": round(self.x, 2),
            "y": round(self.y, 2),
            "size": round(2 * self.r, 2),
        }
        if self.vx or self.vy:
            out["velocity_px_s"] = [round(self.vx, 3), round(self.vy, 3)]
        if self.appear:
            out["appears_at"] = round(self.appear, 3)
        if self.pulses:
            out["pulses"] = [[round(a, 3), round(b, 3)] for a, b in self.pulses]
        return out


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill: tuple) -> None:
    s = SUPERSAMPLE

    def pts(points: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
        return [(round(s * (cx + dx)), round(s * (cy + dy))) for dx, dy in points]

    if shape == "circle":
        box = pts([(-r, -r), (r, r)])
        draw.ellipse([box[0], box[1]], fill=fill)
    elif shape == "square":
        h = 0.88 * r
        box = pts([(-h, -h), (h, h)])
        draw.rectangle([box[0], box[1]], fill=fill)
    elif shape == "triangle":
        draw.polygon(pts([(0, -r), (-r, 0.8 * r), (r, 0.8 * r)]), fill=fill)
    elif shape == "diamond":
        draw.polygon(pts([(0, -1.15 * r), (0.8 * r, 0), (0, 1.15 * r), (-0.8 * r, 0)]), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (SIZE * SUPERSAMPLE, SIZE * SUPERSAMPLE), BACKGROUND)
    return image, ImageDraw.Draw(image)


def finish(image: Image.Image) -> np.ndarray:
    """Downsample the supersampled canvas (box filter: cheap anti-aliasing)."""
    return np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BOX))


def render_objects(objects: Sequence[Obj], t: float) -> np.ndarray:
    image, draw = canvas()
    for obj in objects:
        if t < obj.appear:
            continue
        fill = RGB[obj.colour]
        r = obj.r
        if any(a <= t < b for a, b in obj.pulses):
            r *= 1.45
            fill = tuple(int(round(0.6 * c + 0.4 * 255)) for c in fill)
        draw_shape(draw, obj.shape, obj.x + obj.vx * t, obj.y + obj.vy * t, r, fill)
    return finish(image)


def frame_count(duration: float) -> int:
    return int(round(duration * FPS))


def render_video(objects: Sequence[Obj], duration: float) -> list[np.ndarray]:
    return [render_objects(objects, i / FPS) for i in range(frame_count(duration))]


def write_mp4(path: Path, frames: Sequence[np.ndarray], audio: np.ndarray | None) -> None:
    """H.264 (x264, one thread) plus optional AAC mono 16 kHz, in a bit-exact MP4."""
    with av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = SIZE, SIZE
        video.pix_fmt = "yuv420p"
        video.options = dict(X264_OPTIONS)
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            astream.bit_rate = AAC_BITRATE
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if astream is not None and audio is not None:
            samples = np.clip(audio, -1.0, 1.0).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = samples[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = start
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))


def track_for(duration: float) -> np.ndarray:
    """A silent audio track exactly as long as a video of ``duration`` seconds."""
    return np.zeros(frame_count(duration) * SAMPLE_RATE // FPS)


def clip_length(*, minimum: float, content_end: float, tail: float = 0.5) -> float:
    """A clip duration on the frame grid that leaves ``tail`` seconds after the content."""
    return max(minimum, math.ceil((content_end + tail) * FPS) / FPS)


# --------------------------------------------------------------------------------------------
# Scene layouts


def grid_scene(rng: random.Random, items: Sequence[tuple[str, str]], r: float = 11.0) -> list[Obj]:
    """Static shapes (shape, colour) in random cells of a 3x3 grid, with a little jitter."""
    cells = rng.sample(range(len(GRID9)), len(items))
    objs = []
    for (shape, colour), cell in zip(items, cells, strict=True):
        cx, cy = GRID9[cell]
        objs.append(Obj(shape, colour, cx + rng.uniform(-4, 4), cy + rng.uniform(-4, 4), r))
    return objs


def quadrant_object(
    shape: str, colour: str, quadrant: int, direction: str | None, duration: float, travel: float = 32.0
) -> Obj:
    """A shape centred in its own quadrant; a moving one travels ``travel`` px across it."""
    cx, cy = QUADRANTS[quadrant]
    if direction is None:
        return Obj(shape, colour, cx, cy)
    dx, dy = DIRECTION_VECTORS[direction]
    return Obj(
        shape,
        colour,
        cx - dx * travel / 2,
        cy - dy * travel / 2,
        vx=dx * travel / duration,
        vy=dy * travel / duration,
    )


def colour_counts_scene(rng: random.Random, target: str, count: int) -> tuple[list[Obj], dict[str, int]]:
    """Three colours with three different counts (1-4); ``target`` has ``count`` shapes.

    Every colour's count differs, so the answer depends on which colour is asked about.
    """
    others = rng.sample([c for c in COLOURS if c != target], 2)
    other_counts = rng.sample([n for n in range(1, 5) if n != count], 2)
    counts = {target: count, others[0]: other_counts[0], others[1]: other_counts[1]}
    items = [(rng.choice(SHAPES), colour) for colour, n in counts.items() for _ in range(n)]
    return grid_scene(rng, items), counts


def staggered(objs: Sequence[Obj], rng: random.Random, start: float, end: float) -> list[Obj]:
    """The same objects appearing one by one, in random order, between ``start`` and ``end``."""
    order = list(range(len(objs)))
    rng.shuffle(order)
    step = (end - start) / max(1, len(objs) - 1)
    times = {index: round(start + rank * step, 1) for rank, index in enumerate(order)}
    return [replace(o, appear=times[i]) for i, o in enumerate(objs)]


def mc_row(
    sid: str, question: str, choices: Sequence[str], answer: str, meta: dict[str, Any], **media: Any
) -> dict[str, Any]:
    """A multiple-choice manifest row; the reference is the correct option's text."""
    if answer not in choices:
        raise AssertionError(f"{sid}: answer {answer!r} is not among {choices}")
    return {
        "id": sid,
        **media,
        "question": question,
        "choices": list(choices),
        "references": [answer],
        "meta": meta,
    }


# --------------------------------------------------------------------------------------------
# 1. ASR


def build_asr(ctx: Context) -> list[dict[str, Any]]:
    """32 sentences from the bank, each read by a random voice; the reference is the sentence."""
    rng = task_rng("mini_asr")
    sentences = rng.sample(ASR_SENTENCES, SAMPLES_PER_TASK)
    rows = []
    for i, text in enumerate(sentences):
        voice = pick_voice(rng)
        sid = f"asr_{i:03d}"
        rel = f"asr/{sid}.flac"
        if ctx.render(i):
            ctx.write_flac(rel, np.concatenate([silence(0.2), ctx.speaker.say(text, voice), silence(0.2)]))
        rows.append({"id": sid, "audio": rel, "references": [text], "meta": {"text": text, **voice.meta()}})
    return rows


# --------------------------------------------------------------------------------------------
# 2. Audio captioning

PITCH_RANGES = {"low": (180.0, 260.0), "medium": (420.0, 620.0), "high": (1300.0, 2000.0)}
PITCH_WORDS = {
    "low": ("low", "low-pitched", "deep"),
    "medium": ("medium-pitched", "mid-range", "moderate"),
    "high": ("high", "high-pitched", "shrill"),
}
EVENT_KINDS = ("tone", "beeps", "chirp", "noise", "clicks")


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


EVENT_PHRASES: dict[str, tuple[str, ...]] = {
    # {p}: a pitch adjective, {a}: its article, {n}: a number word, {noun}: the tone's noun
    "tone": (
        "{a} {p} steady tone",
        "{a} {p} {noun} that holds one pitch",
        "a long {p} {noun}",
        "{a} {p} constant tone",
    ),
    "beeps": (
        "{n} short {p} beeps",
        "{a} {p} tone beeping {n} times",
        "{n} quick {p} bleeps",
        "a series of {n} {p} beeps",
    ),
    "chirp_up": (
        "a rising whistle",
        "a tone that sweeps upward in pitch",
        "an upward chirp",
        "a sound gliding from low to high",
    ),
    "chirp_down": (
        "a falling whistle",
        "a tone that sweeps downward in pitch",
        "a downward chirp",
        "a sound gliding from high to low",
    ),
    "noise_1": ("a burst of white noise", "a short hiss", "a rush of static", "a brief noisy hiss"),
    "noise_n": (
        "{n} bursts of white noise",
        "{n} short hisses",
        "{n} rushes of static",
        "static noise in {n} bursts",
    ),
    "clicks_fast": ("rapid ticking", "fast clicking", "a quick run of clicks", "clicks repeating quickly"),
    "clicks_slow": (
        "slow ticking like a clock",
        "slow, steady clicks",
        "a few slow clicks",
        "clicks at a slow, even pace",
    ),
}
TONE_NOUNS = {"low": "hum", "medium": "note", "high": "whistle"}


def describe_event(event: dict[str, Any], variant: int, rng: random.Random) -> str:
    """One of the phrasings of a sound event, filled in from its known parameters."""
    kind = event["kind"]
    key = {
        "chirp": f"chirp_{event.get('direction')}",
        "noise": "noise_1" if event.get("count") == 1 else "noise_n",
        "clicks": f"clicks_{event.get('rate')}",
    }.get(kind, kind)
    pitch = rng.choice(PITCH_WORDS[event["pitch"]]) if "pitch" in event else ""
    return EVENT_PHRASES[key][variant].format(
        p=pitch,
        a=article(pitch) if pitch else "",
        n=NUMBER_WORDS.get(event.get("count", 0), ""),
        noun=TONE_NOUNS.get(event.get("pitch", ""), ""),
    )


CONNECTORS = (
    "{a}, followed by {b}",
    "{a} and then {b}",
    "first {a}, then {b}",
    "{a}, and after that {b}",
    "{a} before {b}",
)
BACKGROUND_PHRASES = (
    " over soft background noise",
    " with a faint hiss in the background",
    " against quiet static",
    " while a low hiss plays throughout",
)


def plan_event(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "tone":
        band = rng.choice(tuple(PITCH_RANGES))
        return {
            "kind": kind,
            "pitch": band,
            "freq_hz": round(rng.uniform(*PITCH_RANGES[band]), 1),
            "duration_s": round(rng.uniform(1.0, 1.5), 2),
        }
    if kind == "beeps":
        band = rng.choice(tuple(PITCH_RANGES))
        return {
            "kind": kind,
            "pitch": band,
            "freq_hz": round(rng.uniform(*PITCH_RANGES[band]), 1),
            "count": rng.randint(2, 5),
            "beep_s": 0.12,
            "period_s": 0.3,
        }
    if kind == "chirp":
        direction = rng.choice(("up", "down"))
        low, high = round(rng.uniform(250, 400)), round(rng.uniform(1600, 2400))
        f0, f1 = (low, high) if direction == "up" else (high, low)
        return {
            "kind": kind,
            "direction": direction,
            "from_hz": f0,
            "to_hz": f1,
            "duration_s": round(rng.uniform(0.8, 1.2), 2),
        }
    if kind == "noise":
        count = rng.choice((1, 1, 2, 3))
        burst = round(rng.uniform(0.5, 0.9), 2) if count == 1 else 0.25
        return {"kind": kind, "count": count, "burst_s": burst, "period_s": 0.45}
    rate = rng.choice(("fast", "slow"))
    return {
        "kind": "clicks",
        "rate": rate,
        "per_second": 8 if rate == "fast" else 2.5,
        "duration_s": round(rng.uniform(1.2, 1.6), 2),
    }


def event_length(event: dict[str, Any]) -> float:
    kind = event["kind"]
    if kind == "beeps":
        return (event["count"] - 1) * event["period_s"] + event["beep_s"]
    if kind == "noise":
        return (event["count"] - 1) * event["period_s"] + event["burst_s"]
    return float(event["duration_s"])


def synth_event(event: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    kind = event["kind"]
    out = np.zeros(seconds(event_length(event)) + 1)
    if kind == "tone":
        place(out, tone(event["freq_hz"], event["duration_s"]), 0.0)
    elif kind == "beeps":
        for k in range(event["count"]):
            place(out, tone(event["freq_hz"], event["beep_s"]), k * event["period_s"])
    elif kind == "chirp":
        place(out, chirp(event["from_hz"], event["to_hz"], event["duration_s"]), 0.0)
    elif kind == "noise":
        for k in range(event["count"]):
            place(out, noise(event["burst_s"], 0.3, rng), k * event["period_s"])
    else:
        step = 1.0 / event["per_second"]
        for k in range(int(event["duration_s"] / step) + 1):
            place(out, click(), k * step)
    return out


def captions_for(rng: random.Random, events: Sequence[dict[str, Any]], background: bool, n: int) -> list[str]:
    """``n`` captions naming both events in order (and the background), each with its own
    phrasing of every event and its own connector."""
    first, second = rng.sample(range(4), n), rng.sample(range(4), n)
    connectors = rng.sample(range(len(CONNECTORS)), n)
    captions = []
    for i, j, k in zip(first, second, connectors, strict=True):
        text = CONNECTORS[k].format(a=describe_event(events[0], i, rng), b=describe_event(events[1], j, rng))
        if background:
            text += rng.choice(BACKGROUND_PHRASES)
        captions.append(text[0].upper() + text[1:] + ".")
    return captions


def build_audiocaps(ctx: Context) -> list[dict[str, Any]]:
    """Two events of different kinds in sequence, sometimes over hiss; captions from the parameters."""
    rng = task_rng("mini_audiocaps")
    pairs = [(a, b) for a in EVENT_KINDS for b in EVENT_KINDS if a != b]
    chosen = rng.sample(pairs, len(pairs)) + rng.sample(pairs, len(pairs))
    rows = []
    for i in range(SAMPLES_PER_TASK):
        kinds = chosen[i]
        events = [plan_event(rng, kind) for kind in kinds]
        background = rng.random() < 0.3
        lead, gap = round(rng.uniform(0.2, 0.4), 2), round(rng.uniform(0.3, 0.6), 2)
        onsets = [lead, round(lead + event_length(events[0]) + gap, 3)]
        for event, onset in zip(events, onsets, strict=True):
            event["onset_s"] = onset
        duration = round(onsets[1] + event_length(events[1]) + 0.3, 2)
        captions = captions_for(rng, events, background, 4)
        sid = f"audiocaps_{i:03d}"
        rel = f"audiocaps/{sid}.flac"
        if ctx.render(i):
            noise_rng = sample_np_rng("mini_audiocaps", i)
            track = silence(duration)
            for event in events:
                place(track, synth_event(event, noise_rng), event["onset_s"])
            if background:
                track += noise(duration, 0.02, noise_rng)
            ctx.write_flac(rel, track)
        meta = {"events": events, "background_noise": background, "duration_s": duration}
        rows.append({"id": sid, "audio": rel, "references": captions, "meta": meta})
    return rows


# --------------------------------------------------------------------------------------------
# 3. Video QA (no audio track)


def build_videoqa(ctx: Context) -> list[dict[str, Any]]:
    """Four question kinds, eight each, whose answers are read off the rendered scene."""
    rng = task_rng("mini_videoqa")
    kind_names = ("count", "direction", "moving_colour", "last_shape")
    kinds = list(kind_names) * (SAMPLES_PER_TASK // 4)
    rng.shuffle(kinds)
    positions = {kind: balanced_positions(rng, kinds.count(kind), 4) for kind in kind_names}
    duration = 4.0
    rows = []
    for i, kind in enumerate(kinds):
        p = positions[kind].pop()
        if kind == "count":
            target = rng.choice(COLOURS)
            count = p + 1
            others = rng.sample([c for c in COLOURS if c != target], rng.choice((1, 2)))
            items = [(rng.choice(SHAPES), target) for _ in range(count)]
            for colour in others:
                items += [
                    (rng.choice(SHAPES), colour) for _ in range(rng.randint(1, min(3, (9 - len(items)))))
                ]
            objs = staggered(grid_scene(rng, items), rng, 0.2, 2.2)
            question, choices, answer = f"How many {target} shapes appear in the video?", COUNTS, COUNTS[p]
        elif kind == "direction":
            shapes, colours = rng.sample(SHAPES, 3), rng.sample(COLOURS, 3)
            others = rng.sample([d for d in DIRECTIONS if d != DIRECTIONS[p]], 2)
            dirs = [DIRECTIONS[p], *others]
            quads = rng.sample(range(4), 3)
            objs = [
                quadrant_object(s, c, q, d, duration)
                for s, c, q, d in zip(shapes, colours, quads, dirs, strict=True)
            ]
            question = f"Which way does the {objs[0].label()} move?"
            choices, answer = DIRECTIONS, DIRECTIONS[p]
        elif kind == "moving_colour":
            colours = rng.sample(COLOURS, 4)
            mover = colours.index(COLOURS[p])
            objs = [
                quadrant_object(
                    rng.choice(SHAPES), c, q, rng.choice(DIRECTIONS) if q == mover else None, duration
                )
                for q, c in enumerate(colours)
            ]
            question, choices, answer = "What colour is the shape that moves?", COLOURS, COLOURS[p]
        else:
            shapes = rng.sample(SHAPES, 4)
            shapes.remove(SHAPES[p])
            shapes.append(SHAPES[p])  # appears last
            objs = grid_scene(rng, [(s, rng.choice(COLOURS)) for s in shapes])
            objs = [replace(o, appear=round(0.3 + 0.8 * k, 1)) for k, o in enumerate(objs)]
            question, choices, answer = "Which shape appears last?", SHAPES, SHAPES[p]
        sid = f"videoqa_{i:03d}"
        rel = f"videoqa/{sid}.mp4"
        if ctx.render(i):
            ctx.write_mp4(rel, render_video(objs, duration), None)
        meta = {"kind": kind, "duration_s": duration, "fps": FPS, "objects": [o.meta() for o in objs]}
        rows.append(mc_row(sid, question, choices, answer, meta, video=rel))
    return rows


# --------------------------------------------------------------------------------------------
# 4. Audio-visual QA with speech (audio inside the mp4)

AVQA_SPEECH = {
    "count": (
        "Count the {colour} shapes.",
        "Look at the {colour} shapes.",
        "My favourite colour is {colour}.",
    ),
    "direction": ("Watch the {shape}.", "Keep your eyes on the {shape}.", "Follow the {shape}."),
    "colour_of_shape": ("Find the {shape}.", "Look for the {shape}.", "Where is the {shape}?"),
    "shape_of_colour": ("Find the {colour} one.", "Look for the {colour} shape.", "The colour is {colour}."),
}
AVQA_QUESTIONS = {
    "count": "How many shapes of the colour named in the audio appear in the video?",
    "direction": "Which way does the shape named in the audio move?",
    "colour_of_shape": "What colour is the shape named in the audio?",
    "shape_of_colour": "Which shape has the colour named in the audio?",
}


def build_avqa(ctx: Context) -> list[dict[str, Any]]:
    """The speech names a colour or shape; the question asks about that object in the video."""
    rng = task_rng("mini_avqa")
    kinds = list(AVQA_SPEECH) * (SAMPLES_PER_TASK // 4)
    rng.shuffle(kinds)
    positions = {kind: balanced_positions(rng, kinds.count(kind), 4) for kind in AVQA_SPEECH}
    speech_start = 0.3
    rows = []
    for i, kind in enumerate(kinds):
        p = positions[kind].pop()
        voice = pick_voice(rng)
        template = rng.choice(AVQA_SPEECH[kind])
        extra: dict[str, Any] = {}
        # four objects of different shapes and colours, each moving its own way in its own quadrant
        shapes, colours, dirs = rng.sample(SHAPES, 4), rng.sample(COLOURS, 4), rng.sample(DIRECTIONS, 4)
        if kind == "count":
            named = {"colour": rng.choice(COLOURS)}
            grid, extra["counts"] = colour_counts_scene(rng, named["colour"], p + 1)
            grid = staggered(grid, rng, 0.2, 2.2)
            choices, answer = COUNTS, COUNTS[p]
        elif kind == "direction":
            named = {"shape": shapes[dirs.index(DIRECTIONS[p])]}
            choices, answer = DIRECTIONS, DIRECTIONS[p]
        elif kind == "colour_of_shape":
            named = {"shape": shapes[colours.index(COLOURS[p])]}
            choices, answer = COLOURS, COLOURS[p]
        else:
            named = {"colour": colours[shapes.index(SHAPES[p])]}
            choices, answer = SHAPES, SHAPES[p]
        text = template.format(**named)
        # speech is synthesised for every sample, rendered or not: the clip length depends on it
        speech = ctx.speaker.say(text, voice)
        duration = clip_length(minimum=4.0, content_end=speech_start + len(speech) / SAMPLE_RATE)
        if kind == "count":
            objs = grid
        else:
            objs = [
                quadrant_object(s, c, q, d, duration)
                for q, (s, c, d) in enumerate(zip(shapes, colours, dirs, strict=True))
            ]
        sid = f"avqa_{i:03d}"
        rel = f"avqa/{sid}.mp4"
        if ctx.render(i):
            track = track_for(duration)
            place(track, speech, speech_start)
            ctx.write_mp4(rel, render_video(objs, duration), track)
        meta = {
            "kind": kind,
            "speech": {"text": text, "start_s": speech_start, **voice.meta()},
            **named,
            **extra,
            "duration_s": duration,
            "fps": FPS,
            "objects": [o.meta() for o in objs],
        }
        rows.append(mc_row(sid, AVQA_QUESTIONS[kind], choices, answer, meta, video=rel))
    return rows


# --------------------------------------------------------------------------------------------
# 5. Audio-visual speech recognition (separate FLAC + silent mouth video)


def mouth_frames(speech: np.ndarray, lead: float, duration: float) -> tuple[list[np.ndarray], list[float]]:
    """A face whose mouth opening follows the speech's RMS envelope (100 ms window per frame)."""
    track = track_for(duration)
    place(track, speech, lead)
    half = seconds(0.05)
    rms = []
    for i in range(frame_count(duration)):
        centre = seconds(i / FPS)
        window = track[max(0, centre - half) : centre + half]
        rms.append(float(np.sqrt(np.mean(window**2))) if len(window) else 0.0)
    scale = max(rms) or 1.0
    openings = [min(1.0, (v / scale) ** 0.6) for v in rms]
    frames = []
    for opening in openings:
        image, draw = canvas()
        s = SUPERSAMPLE
        draw.ellipse([s * 14, s * 10, s * 114, s * 122], fill=(230, 190, 160))
        for ex in (46, 82):
            draw.ellipse([s * (ex - 5), s * 48, s * (ex + 5), s * 58], fill=(40, 40, 40))
        half_w, half_h = 20 - 5 * opening, 1.5 + 13 * opening
        box = [
            round(s * (64 - half_w)),
            round(s * (90 - half_h)),
            round(s * (64 + half_w)),
            round(s * (90 + half_h)),
        ]
        draw.ellipse(box, fill=(120, 20, 30))
        frames.append(finish(image))
    return frames, [round(o, 3) for o in openings]


def build_avsr(ctx: Context) -> list[dict[str, Any]]:
    """GRID-style commands as FLAC, with a silent video of a mouth that follows the speech."""
    rng = task_rng("mini_avsr")
    rows = []
    seen: set[str] = set()
    i = 0
    while i < SAMPLES_PER_TASK:
        words = [
            rng.choice(GRID_COMMANDS),
            rng.choice(GRID_COLOURS),
            rng.choice(GRID_PREPOSITIONS),
            rng.choice(GRID_LETTERS),
            rng.choice(GRID_DIGITS),
            rng.choice(GRID_ADVERBS),
        ]
        text = " ".join(words)
        if text in seen:
            continue
        seen.add(text)
        voice = pick_voice(rng)
        # espeak-ng reads an upper-case single letter as its name ("F" -> "eff")
        spoken = " ".join(w.upper() if len(w) == 1 else w for w in words)
        sid = f"avsr_{i:03d}"
        audio_rel, video_rel = f"avsr/{sid}.flac", f"avsr/{sid}.mp4"
        lead = 0.3
        speech = ctx.speaker.say(spoken, voice)
        duration = clip_length(minimum=2.0, content_end=lead + len(speech) / SAMPLE_RATE, tail=0.3)
        frames, openings = mouth_frames(speech, lead, duration)
        if ctx.render(i):
            track = track_for(duration)
            place(track, speech, lead)
            ctx.write_flac(audio_rel, track)
            ctx.write_mp4(video_rel, frames, None)
        meta = {
            "text": text,
            "spoken_text": spoken,
            **voice.meta(),
            "speech_start_s": lead,
            "duration_s": duration,
            "fps": FPS,
            "mouth_opening": openings,
        }
        rows.append({"id": sid, "audio": audio_rel, "video": video_rel, "references": [text], "meta": meta})
        i += 1
    return rows


# --------------------------------------------------------------------------------------------
# 6. Audio-visual matching (yes/no, matched and mismatched versions of each scene)

AVM_PHRASES = ("A {colour} {shape}.", "This is a {colour} {shape}.", "I can see a {colour} {shape}.")


def bounce_scene(rng: random.Random) -> dict[str, Any]:
    period = rng.choice((0.7, 0.8, 0.9, 1.0, 1.1))
    first = rng.choice((0.3, 0.4, 0.5))
    duration = 4.5
    contacts = []
    t = first
    while t + period / 2 <= duration - 0.3:
        contacts.append(round(t, 2))
        t += period
    return {
        "kind": "bounce",
        "colour": rng.choice(COLOURS),
        "period_s": period,
        "contacts_s": contacts,
        "duration_s": duration,
    }


def bounce_frames(scene: dict[str, Any]) -> list[np.ndarray]:
    floor, radius, height = 112, 9.0, 68.0
    first, period, duration = scene["contacts_s"][0], scene["period_s"], scene["duration_s"]
    frames = []
    for i in range(frame_count(duration)):
        t = i / FPS
        image, draw = canvas()
        s = SUPERSAMPLE
        draw.rectangle([0, s * floor, s * SIZE, s * SIZE], fill=(90, 70, 50))
        y = floor - radius - height * abs(math.sin(math.pi * (t - first) / period))
        x = 18 + (SIZE - 36) * t / duration
        draw_shape(draw, "circle", x, y, radius, RGB[scene["colour"]])
        frames.append(finish(image))
    return frames


def build_avm(ctx: Context) -> list[dict[str, Any]]:
    """16 scenes (bouncing ball, named shape), each once with matching and once with other audio."""
    rng = task_rng("mini_avm")
    scenes: list[dict[str, Any]] = []
    for k in range(SAMPLES_PER_TASK // 2):
        if k % 2 == 0:
            scenes.append(bounce_scene(rng))
        else:
            shape, colour = rng.choice(SHAPES), rng.choice(COLOURS)
            change = rng.choice(("colour", "shape", "both"))
            other_shape = rng.choice([s for s in SHAPES if s != shape]) if change != "colour" else shape
            other_colour = rng.choice([c for c in COLOURS if c != colour]) if change != "shape" else colour
            scenes.append(
                {
                    "kind": "word",
                    "shape": shape,
                    "colour": colour,
                    "phrase": rng.choice(AVM_PHRASES),
                    "voice": pick_voice(rng),
                    "mismatch": {"change": change, "shape": other_shape, "colour": other_colour},
                }
            )
    samples = [(k, matched) for k in range(len(scenes)) for matched in (True, False)]
    rng.shuffle(samples)
    rows = []
    for i, (k, matched) in enumerate(samples):
        scene = scenes[k]
        sid = f"avm_{i:03d}"
        rel = f"avm/{sid}.mp4"
        if scene["kind"] == "bounce":
            shift = 0.0 if matched else scene["period_s"] / 2
            sound_times = [round(c + shift, 3) for c in scene["contacts_s"]]
            duration = scene["duration_s"]
            meta: dict[str, Any] = {
                "kind": "bounce",
                "matched": matched,
                "ball_colour": scene["colour"],
                "period_s": scene["period_s"],
                "bounces_s": scene["contacts_s"],
                "sounds_s": sound_times,
                "duration_s": duration,
            }
            if ctx.render(i):
                track = track_for(duration)
                for t in sound_times:
                    place(track, thud(), t)
                ctx.write_mp4(rel, bounce_frames(scene), track)
        else:
            said = scene if matched else scene["mismatch"]
            text = scene["phrase"].format(colour=said["colour"], shape=said["shape"])
            speech = ctx.speaker.say(text, scene["voice"])
            duration = clip_length(minimum=3.0, content_end=0.3 + len(speech) / SAMPLE_RATE)
            obj = Obj(scene["shape"], scene["colour"], SIZE / 2, SIZE / 2, r=34.0)
            meta = {
                "kind": "word",
                "matched": matched,
                "shown": obj.label(),
                "speech": {"text": text, "start_s": 0.3, **scene["voice"].meta()},
                "duration_s": duration,
            }
            if not matched:
                meta["changed"] = scene["mismatch"]["change"]
            if ctx.render(i):
                track = track_for(duration)
                place(track, speech, 0.3)
                ctx.write_mp4(rel, render_video([obj], duration), track)
        rows.append(
            {
                "id": sid,
                "video": rel,
                "question": "Is the audio compatible with the video?",
                "references": ["yes" if matched else "no"],
                "cluster": f"avm_scene_{k:02d}",
                "meta": meta,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------
# 7. Sound-source detection (every object pulses; only one pulses with the sound)


def build_avssd(ctx: Context) -> list[dict[str, Any]]:
    """Four shapes pulse at disjoint times; the tones start exactly when the answer pulses."""
    rng = task_rng("mini_avssd")
    positions = balanced_positions(rng, SAMPLES_PER_TASK, 4)
    duration, pulse, slot_starts = 6.0, 0.3, [round(0.3 + 0.4 * k, 1) for k in range(13)]
    rows = []
    for i, p in enumerate(positions):
        shapes, colours, quads = rng.sample(SHAPES, 4), rng.sample(COLOURS, 4), rng.sample(range(4), 4)
        slots = rng.sample(slot_starts, 12)
        groups = [sorted(slots[3 * j : 3 * j + 3]) for j in range(4)]
        objs = [
            Obj(
                shapes[j],
                colours[j],
                *QUADRANTS[quads[j]],
                r=12.0,
                pulses=tuple((t, round(t + pulse, 1)) for t in groups[j]),
            )
            for j in range(4)
        ]
        freq = rng.choice((523.3, 659.3, 784.0, 880.0))
        choices = [f"the {o.label()}" for o in objs]
        sid = f"avssd_{i:03d}"
        rel = f"avssd/{sid}.mp4"
        if ctx.render(i):
            track = track_for(duration)
            for t in groups[p]:
                place(track, tone(freq, pulse, amp=0.5), t)
            ctx.write_mp4(rel, render_video(objs, duration), track)
        meta = {
            "source": objs[p].label(),
            "sound_onsets_s": groups[p],
            "tone_hz": freq,
            "pulse_s": pulse,
            "duration_s": duration,
            "fps": FPS,
            "objects": [o.meta() for o in objs],
        }
        rows.append(mc_row(sid, "Which object is making the sound?", choices, choices[p], meta, video=rel))
    return rows


# --------------------------------------------------------------------------------------------
# 8. Image spoken QA (PNG + spoken question as FLAC)

ISQA_SPEECH = {
    "count": "How many {colour} shapes are there?",
    "colour_of_shape": "What colour is the {shape}?",
    "shape_of_colour": "What shape is the {colour} one?",
    "colour_of_largest": "What colour is the largest shape?",
}


def build_isqa(ctx: Context) -> list[dict[str, Any]]:
    """A PNG of shapes and the question spoken as FLAC; the options are given in text."""
    rng = task_rng("mini_isqa")
    kinds = list(ISQA_SPEECH) * (SAMPLES_PER_TASK // 4)
    rng.shuffle(kinds)
    positions = {kind: balanced_positions(rng, kinds.count(kind), 4) for kind in ISQA_SPEECH}
    rows = []
    for i, kind in enumerate(kinds):
        p = positions[kind].pop()
        voice = pick_voice(rng)
        named: dict[str, str] = {}
        if kind == "count":
            named["colour"] = rng.choice(COLOURS)
            objs, _ = colour_counts_scene(rng, named["colour"], p + 1)
            choices, answer = COUNTS, COUNTS[p]
        else:
            shapes, colours, quads = rng.sample(SHAPES, 4), rng.sample(COLOURS, 4), rng.sample(range(4), 4)
            sizes = [11.0] * 4
            if kind == "colour_of_shape":
                named["shape"] = shapes[colours.index(COLOURS[p])]
                choices, answer = COLOURS, COLOURS[p]
            elif kind == "shape_of_colour":
                named["colour"] = colours[shapes.index(SHAPES[p])]
                choices, answer = SHAPES, SHAPES[p]
            else:
                sizes[colours.index(COLOURS[p])] = 20.0
                choices, answer = COLOURS, COLOURS[p]
            objs = []
            for s, c, q, r in zip(shapes, colours, quads, sizes, strict=True):
                cx, cy = QUADRANTS[q]
                objs.append(Obj(s, c, cx + rng.uniform(-6, 6), cy + rng.uniform(-6, 6), r))
        text = ISQA_SPEECH[kind].format(**named)
        sid = f"isqa_{i:03d}"
        image_rel, audio_rel = f"isqa/{sid}.png", f"isqa/{sid}.flac"
        if ctx.render(i):
            ctx.write_png(image_rel, render_objects(objs, 0.0))
            ctx.write_flac(
                audio_rel, np.concatenate([silence(0.2), ctx.speaker.say(text, voice), silence(0.2)])
            )
        meta = {
            "kind": kind,
            "spoken_question": text,
            **voice.meta(),
            **named,
            "objects": [o.meta() for o in objs],
        }
        question = "Answer the spoken question about the image."
        rows.append(mc_row(sid, question, choices, answer, meta, image=image_rel, audio=audio_rel))
    return rows


# --------------------------------------------------------------------------------------------
# Orchestration

TASKS: dict[str, tuple[str, Callable[[Context], list[dict[str, Any]]]]] = {
    "mini_asr": ("asr.jsonl", build_asr),
    "mini_audiocaps": ("audiocaps.jsonl", build_audiocaps),
    "mini_videoqa": ("videoqa.jsonl", build_videoqa),
    "mini_avqa": ("avqa.jsonl", build_avqa),
    "mini_avsr": ("avsr.jsonl", build_avsr),
    "mini_avm": ("avm.jsonl", build_avm),
    "mini_avssd": ("avssd.jsonl", build_avssd),
    "mini_isqa": ("isqa.jsonl", build_isqa),
}


def write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8", newline="\n")


def x264_core(files: Sequence[Path]) -> str:
    """The x264 core version, read from the encoder's SEI message in a written video."""
    for path in files:
        if path.suffix == ".mp4":
            found = re.search(rb"x264 - core (\d+)", path.read_bytes())
            if found:
                return found.group(1).decode()
    return ""


def build_info(ctx: Context, counts: dict[str, int]) -> dict[str, Any]:
    files = sorted(p for p in ctx.out.rglob("*") if p.is_file() and p.name != "BUILD_INFO.json")
    data_files = [p for p in files if p.suffix in (".jsonl", ".flac", ".mp4", ".png")]
    dpkg = shutil.which("dpkg-query")
    package = ""
    if dpkg:
        result = subprocess.run([dpkg, "-W", "-f=${Version}", "espeak-ng"], capture_output=True, text=True)
        package = result.stdout.strip()
    return {
        "generator": "scripts/build_mini_benchmark.py",
        "seed": SEED,
        "espeak_ng": {
            "version": ctx.speaker.version(),
            "debian_package": package,
            "languages": list(ESPEAK_LANGUAGES),
            "variants": list(ESPEAK_VARIANTS),
        },
        "tools": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pyav": av.__version__,
            "ffmpeg_libraries": {k: ".".join(map(str, v)) for k, v in sorted(av.library_versions.items())},
            "pillow": PIL_VERSION,
            "soundfile": sf.__version__,
            "libsndfile": sf.__libsndfile_version__,
            "x264_core": x264_core(data_files),
        },
        "settings": {
            "audio": {
                "sample_rate": SAMPLE_RATE,
                "flac": "PCM_16 mono",
                "espeak_rate": ESPEAK_RATE,
                "resampling": "FFT, 22050 -> 16000 Hz",
            },
            "video": {
                "size": [SIZE, SIZE],
                "fps": FPS,
                "codec": "libx264 yuv420p",
                "x264": X264_OPTIONS,
                "container": "mp4, fflags=+bitexact",
                "audio_codec": f"aac {AAC_BITRATE} bit/s mono",
            },
            "image": {"size": [SIZE, SIZE], "format": "PNG, compress_level=9"},
            "drawing": {
                "supersample": SUPERSAMPLE,
                "downsampling": "box filter",
                "background": BACKGROUND,
                "colours": RGB,
            },
            "speech_peak": SPEECH_PEAK,
            "samples_per_task": SAMPLES_PER_TASK,
        },
        "tasks": counts,
        "total_bytes": sum(p.stat().st_size for p in data_files),
        "files": {p.relative_to(ctx.out).as_posix(): sha256_file(p) for p in data_files},
    }


def clean(out: Path) -> None:
    """Remove what a previous build wrote (manifests, media, build info); YAML files stay.

    Raises:
        SystemExit: ``out`` holds a ``media`` folder that no build of this script wrote.
    """
    ours = [out / "BUILD_INFO.json", *(out / manifest for manifest, _ in TASKS.values())]
    if (out / "media").exists() and not any(p.exists() for p in ours):
        raise SystemExit(f"{out / 'media'} was not written by this script; refusing to delete it")
    shutil.rmtree(out / "media", ignore_errors=True)
    for path in [*out.glob("*.jsonl"), out / "BUILD_INFO.json"]:
        path.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the benchmark.

    Args:
        argv: Command-line arguments (``--out``, ``--tasks``, ``--limit``); ``sys.argv`` when None.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: tasks/mini)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--limit", type=int, default=None, help="render media for the first N samples only")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; known: {', '.join(TASKS)}")
    executable = shutil.which("espeak-ng")
    if executable is None:
        print("espeak-ng not found; install it with `apt-get install -y espeak-ng`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    clean(args.out)
    speaker = Speaker(executable)
    ctx = Context(out=args.out, speaker=speaker, limit=args.limit)
    counts = {}
    try:
        for name in names:
            manifest, builder = TASKS[name]
            rows = builder(ctx)
            write_manifest(args.out / manifest, rows)
            counts[name] = len(rows)
            print(f"{name}: {len(rows)} samples -> {manifest}")
        if args.limit is None and names == list(TASKS):
            info = build_info(ctx, counts)
            (args.out / "BUILD_INFO.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
            print(f"total {info['total_bytes'] / 1e6:.2f} MB in {len(info['files'])} files")
    finally:
        speaker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
