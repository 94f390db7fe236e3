"""Media files made on the fly for tests: tones, videos whose frames carry their own index,
damaged and rotated files.

Every generator writes to the path it is given and returns it. Videos draw frame i with the
bits of i as a 4x4 grid of black and white blocks (``read_index`` reads them back), so a test
can tell which frames were decoded whatever the codec does to the pixels.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

GRID = 4  # the index is drawn as GRID x GRID blocks: up to 2**16 frames

# (video codec, audio codec) by container suffix
_CODECS = {
    ".mp4": ("mpeg4", "aac"),
    ".m4v": ("mpeg4", "aac"),
    ".mov": ("mpeg4", "aac"),
    ".mkv": ("mpeg4", "libopus"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "libmp3lame"),
}
_AUDIO_CODECS = {
    ".m4a": "aac",
    ".aac": "aac",
    ".opus": "libopus",
    ".webm": "libopus",
    ".mka": "libopus",
    ".mkv": "aac",
}
_FORMATS = {".m4a": "mp4", ".m4v": "mp4", ".mka": "matroska", ".opus": "ogg", ".aac": "adts"}


def tone(
    seconds: float, sample_rate: int, freq: float = 440.0, channels: int = 1, amplitude: float = 0.5
) -> np.ndarray:
    """A sine, (samples,) for mono or (samples, channels) with the same sine in each channel."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float64)
    return wave if channels == 1 else np.repeat(wave[:, None], channels, axis=1)


def make_wav(
    path: Path,
    *,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    channels: int = 1,
    freq: float = 440.0,
    amplitude: float = 0.5,
    subtype: str | None = None,
    format: str | None = None,
    signal: np.ndarray | None = None,
) -> Path:
    """An audio file written by libsndfile: wav, flac, ogg (vorbis) or mp3 by suffix or ``format``.

    Args:
        signal: Samples to write, (samples,) or (samples, channels), instead of a tone.
    """
    data = signal if signal is not None else tone(seconds, sample_rate, freq, channels, amplitude)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = format or {".ogg": "OGG", ".mp3": "MP3", ".flac": "FLAC"}.get(path.suffix.lower(), "WAV")
    subtype = subtype or {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}.get(fmt)
    sf.write(path, data, sample_rate, subtype=subtype, format=fmt)
    return path


def make_audio_file(
    path: Path,
    *,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    channels: int = 1,
    freq: float = 440.0,
    codec: str | None = None,
    format: str | None = None,
) -> Path:
    """An audio-only file encoded by FFmpeg (m4a/aac, opus, webm, mka, ...), a tone in every channel."""
    import av

    codec = codec or _AUDIO_CODECS.get(path.suffix.lower(), "aac")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=format or _FORMATS.get(path.suffix.lower())) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=_layout(channels))
        _write_audio(container, stream, tone(seconds, sample_rate, freq, channels), sample_rate, channels)
    return path


def make_with_cover_art(
    path: Path, *, seconds: float = 1.0, sample_rate: int = 16000, freq: float = 440.0
) -> Path:
    """An mp3 tone carrying an 8x8 PNG as attached cover art (a picture stream, not a video)."""
    import io

    import av
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp3") as container:
        audio = container.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        cover = container.add_stream("png")
        cover.width = cover.height = 8
        cover.pix_fmt = "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic.value
        packet = av.Packet(buffer.getvalue())
        packet.stream, packet.pts, packet.dts = cover, 0, 0
        container.mux(packet)
        _write_audio(container, audio, tone(seconds, sample_rate, freq), sample_rate, 1)
    return path


def index_image(index: int, height: int, width: int) -> np.ndarray:
    """An RGB frame showing the bits of ``index`` as a grid of black (0) and white (1) blocks."""
    image = np.zeros((height, width, 3), np.uint8)
    bh, bw = height // GRID, width // GRID
    for bit in range(GRID * GRID):
        if index >> bit & 1:
            row, col = divmod(bit, GRID)
            image[row * bh : (row + 1) * bh, col * bw : (col + 1) * bw] = 255
    return image


def read_index(frames: np.ndarray) -> list[int]:
    """The indices drawn by ``index_image`` in (T, H, W, 3) frames (or one (H, W, 3) frame)."""
    frames = frames[None] if frames.ndim == 3 else frames
    out = []
    for frame in frames:
        height, width = frame.shape[:2]
        bh, bw = height // GRID, width // GRID
        value = 0
        for bit in range(GRID * GRID):
            row, col = divmod(bit, GRID)
            block = frame[
                row * bh + bh // 4 : (row + 1) * bh - bh // 4, col * bw + bw // 4 : (col + 1) * bw - bw // 4
            ]
            if block.mean() > 127:
                value |= 1 << bit
        out.append(value)
    return out


def make_mp4(
    path: Path,
    *,
    frames: int = 8,
    fps: float = 8.0,
    times: Sequence[float] | None = None,
    size: tuple[int, int] = (32, 32),
    with_audio: bool = True,
    audio_seconds: float | None = None,
    sample_rate: int = 16000,
    channels: int = 1,
    freq: float = 330.0,
    codec: str | None = None,
    audio_codec: str | None = None,
    gop: int | None = None,
    bframes: int = 0,
    faststart: bool = False,
    draw: Callable[[int, int, int], np.ndarray] | None = None,
) -> Path:
    """A video (mp4, mkv, webm, avi, mov by suffix) whose frame i shows ``index_image(i)``.

    Args:
        frames: Number of frames (ignored when ``times`` is given).
        fps: Constant frame rate; frame i is shown at i / fps.
        times: Presentation times in seconds, one per frame, for a variable frame rate.
        size: (width, height).
        with_audio: Add an audio track: a ``freq`` Hz tone as long as the video.
        audio_seconds: Length of the audio track instead.
        codec: Video codec (default by container: mpeg4, or libvpx for webm).
        audio_codec: Audio codec (default by container: aac, opus or mp3).
        gop: Frames between keyframes (the encoder's default when None).
        bframes: B-frames between references (reorders decoding for mpeg4 and libx264).
        faststart: For mp4, put the index (moov) before the data.
        draw: ``draw(i, height, width)`` gives frame i instead of the index grid.
    """
    import av

    suffix = path.suffix.lower()
    default_video, default_audio = _CODECS.get(suffix, ("mpeg4", "aac"))
    width, height = size
    draw = draw or (lambda i, h, w: index_image(i, h, w))
    stamps = list(times) if times is not None else [i / fps for i in range(frames)]
    rate = Fraction(1000) if times is not None else Fraction(fps).limit_denominator(10000)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = container.add_stream(codec or default_video, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = 1 / rate
        video.codec_context.time_base = 1 / rate
        video.bit_rate = max(200_000, width * height * 60)
        video.codec_context.max_b_frames = bframes
        if gop is not None:
            video.codec_context.gop_size = gop
        if (codec or default_video) == "libx264":
            video.options = {"crf": "12", "bf": str(bframes)}
        audio = None
        if with_audio:
            audio = container.add_stream(
                audio_codec or default_audio, rate=sample_rate, layout=_layout(channels)
            )
        length = (
            audio_seconds
            if audio_seconds is not None
            else (stamps[-1] + 1.0 / (fps if times is None else 25.0))
        )
        samples = tone(length, sample_rate, freq, channels, amplitude=0.3) if audio is not None else None
        written = 0
        for i, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(draw(i, height, width), format="rgb24")
            frame.pts = int(round(stamp * rate))
            frame.time_base = 1 / rate
            for packet in video.encode(frame):
                container.mux(packet)
            if audio is not None:  # interleave: audio up to this frame's time
                upto = min(len(samples), int(stamp * sample_rate))
                written = _write_audio(
                    container, audio, samples, sample_rate, channels, written, upto, flush=False
                )
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            _write_audio(container, audio, samples, sample_rate, channels, written, len(samples))
    return path


def make_long_video(
    path: Path, *, hours: float = 3.0, fps: float = 1.0, size: int = 64, gop: int = 300
) -> Path:
    """A long, cheap video: ``hours`` at ``fps``, tiny frames, a keyframe every ``gop`` frames."""
    return make_mp4(
        path, frames=int(hours * 3600 * fps), fps=fps, size=(size, size), with_audio=False, gop=gop
    )


def make_truncated(source: Path, path: Path, keep: float = 0.5) -> Path:
    """A copy of ``source`` cut after ``keep`` of its bytes."""
    data = source.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


def make_rotated(source: Path, path: Path, degrees: int) -> Path:
    """A copy of an mp4 whose video track tells players to turn it ``degrees`` clockwise.

    Writes the rotation into the display matrix of every track header with a picture size
    (the way phones tag portrait video: "rotate=90" is a 90-degree clockwise turn).
    """
    data = bytearray(source.read_bytes())
    turn = math.radians(degrees)
    cos, sin = round(math.cos(turn)), round(math.sin(turn))
    matrix = struct.pack(">9i", cos << 16, sin << 16, 0, -sin << 16, cos << 16, 0, 0, 0, 1 << 30)
    found = 0
    at = data.find(b"tkhd")
    while at >= 0:
        version = data[at + 4]
        offset = at + 8 + (20 if version == 0 else 32) + 16  # fields before the matrix
        width = struct.unpack(">I", data[offset + 36 : offset + 40])[0]
        if width:
            data[offset : offset + 36] = matrix
            found += 1
        at = data.find(b"tkhd", at + 4)
    if not found:
        raise ValueError(f"{source}: no video track header to rotate")
    path.write_bytes(bytes(data))
    return path


def make_text(path: Path, text: str = "this is not a media file\n") -> Path:
    """A text file (under whatever media extension ``path`` has)."""
    path.write_text(text)
    return path


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1"}[channels]


def _write_audio(container, stream, samples, sample_rate, channels, begin=0, end=None, flush=True) -> int:  # noqa: ANN001
    import av

    end = len(samples) if end is None else end
    chunk = stream.codec_context.frame_size or 1024
    position = begin
    while end - position >= chunk or (flush and position < end):
        block = samples[position : min(end, position + chunk)]
        planar = np.ascontiguousarray(block.reshape(len(block), -1).T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=_layout(channels))
        frame.sample_rate = sample_rate
        frame.pts = position
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        position += len(block)
    if flush:
        for packet in stream.encode():
            container.mux(packet)
    return position
