"""Small task folders with generated media for end-to-end runs of the harness."""

from __future__ import annotations

import json
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

WORDS = ["red", "green", "blue", "yellow"]


def write_wav(path: Path, seconds: float = 0.5, sample_rate: int = 16000, freq: float = 440.0) -> Path:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sample_rate)
    return path


def write_mp4(path: Path, *, seconds: float = 1.0, fps: int = 8, size: int = 32, colour=(200, 30, 30),
              audio: bool = True, sample_rate: int = 16000) -> Path:  # fmt: skip
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=sample_rate) if audio else None
        frames = int(seconds * fps)
        for i in range(frames):
            image = np.zeros((size, size, 3), dtype=np.uint8)
            image[:] = colour
            image[: (i % size), :4] = 255
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            t = np.arange(int(seconds * sample_rate)) / sample_rate
            samples = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
            chunk = 1024
            for start in range(0, len(samples), chunk):
                frame = av.AudioFrame.from_ndarray(
                    samples[None, start : start + chunk], format="flt", layout="mono"
                )
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


ASR_SPEC = """\
task: toy_asr
description: Toy transcription.
modalities: [speech]
source: {kind: manifest, path: asr.jsonl, media_root: media}
prompt: "Transcribe the speech."
answer: transcript
metrics: [{name: wer}]
generation: {max_new_tokens: 16}
groups: [toy]
"""

MC_SPEC = """\
task: toy_mc
description: Toy colour question about a video.
modalities: [video, audio]
audio_from_video: true
source: {kind: manifest, path: mc.jsonl, media_root: media}
prompt: "{question}\\n{choices}\\nAnswer with the letter."
answer: multiple_choice
metrics: [{name: accuracy}]
media: {video: {num_frames: 4}}
groups: [toy]
"""

YN_SPEC = """\
task: toy_yn
description: Toy yes/no question about an image.
modalities: [image]
source: {kind: manifest, path: yn.jsonl, media_root: media}
prompt: "{question} Answer yes or no."
answer: yes_no
metrics: [{name: accuracy, parser: yes_no}]
groups: [toy]
"""


def make_toy_tasks(root: Path, n: int = 8, *, bad_media: bool = False) -> Path:
    """Three toy tasks (ASR on wav, multiple choice on mp4 with audio, yes/no on png) under ``root``.

    With ``bad_media`` the ASR task gets a zero-length wav and the video task a corrupt mp4 and an
    mp4 without an audio track.
    """
    from PIL import Image

    media = root / "media"
    rng = np.random.default_rng(0)
    asr, mc, yn = [], [], []
    for i in range(n):
        write_wav(media / f"a{i}.wav", freq=300 + 40 * i)
        asr.append({"id": f"asr{i}", "audio": f"a{i}.wav", "references": [f"the number is {i}"]})
        colour = WORDS[i % 4]
        write_mp4(media / f"v{i}.mp4", colour=(60 * (i % 4), 80, 200))
        mc.append({"id": f"mc{i}", "video": f"v{i}.mp4", "question": "Which colour?", "choices": WORDS,
                   "references": [colour], "cluster": f"clip{i // 2}"})  # fmt: skip
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(media / f"i{i}.png")
        yn.append(
            {
                "id": f"yn{i}",
                "image": f"i{i}.png",
                "question": "Is it noisy?",
                "references": ["yes" if i % 2 else "no"],
            }
        )
    if bad_media:
        (media / "empty.wav").write_bytes(b"")
        asr.append({"id": "asr-empty", "audio": "empty.wav", "references": ["nothing"]})
        good = (media / "v0.mp4").read_bytes()
        (media / "truncated.mp4").write_bytes(good[: len(good) // 3])
        mc.append({"id": "mc-truncated", "video": "truncated.mp4", "question": "Which colour?", "choices": WORDS,
                   "references": ["red"]})  # fmt: skip
        write_mp4(media / "silent.mp4", audio=False)
        mc.append({"id": "mc-no-audio", "video": "silent.mp4", "question": "Which colour?", "choices": WORDS,
                   "references": ["red"]})  # fmt: skip
    for name, rows in (("asr", asr), ("mc", mc), ("yn", yn)):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, spec in (("asr", ASR_SPEC), ("mc", MC_SPEC), ("yn", YN_SPEC)):
        (root / f"toy_{name}.yaml").write_text(textwrap.dedent(spec))
    return root
