"""savbench requests in the shapes lmms-eval models take.

Both directions of the lmms-eval integration use these, so that a model sees the same inputs
whether savbench drives it (``--model lmms:NAME``) or lmms-eval runs an exported task:

- visuals: a video path, a PIL image and an HF-Audio dict (``{"array", "sampling_rate"}``), in
  that order, as ``doc_to_visual`` returns them;
- chat messages (for lmms-eval chat models, which read ``doc_to_messages``);
- ``generation_kwargs`` from savbench's generation settings.

Nothing here imports lmms-eval.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from savbench.adapters import GenerationSettings, Request
from savbench.media import VideoClip

VIDEO_MODES = ("frames", "file")


def lmms_gen_kwargs(settings: GenerationSettings) -> dict[str, Any]:
    """lmms-eval ``generation_kwargs`` for savbench generation settings.

    Args:
        settings: The task's (or request's) decoding settings.
    """
    kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "num_beams": settings.num_beams,
        "do_sample": settings.do_sample,
    }
    if settings.repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = settings.repetition_penalty
    if settings.num_beams > 1 and settings.length_penalty != 1.0:
        kwargs["length_penalty"] = settings.length_penalty
    if settings.stop:
        kwargs["until"] = list(settings.stop)
    return kwargs


def clip_fps(clip: VideoClip) -> float:
    """Frame rate of a sampled clip, from its timestamps (1 for a single frame)."""
    if len(clip) < 2:
        return 1.0
    span = float(clip.timestamps[-1] - clip.timestamps[0])
    return (len(clip) - 1) / span if span > 0 else 1.0


def write_clip(clip: VideoClip, path: Path) -> Path:
    """Encode sampled frames as an mp4 at their sampling rate: H.264 at QP 0 on one thread (the
    same bytes on every call), or MPEG-4 at its best quantiser where FFmpeg lacks libx264. Odd
    frame sizes lose their last row or column.

    Args:
        clip: Decoded frames (T, H, W, 3) uint8.
        path: Output file.
    """
    import av

    frames = np.asarray(clip.frames, dtype=np.uint8)
    height, width = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    if height == 0 or width == 0:
        raise ValueError(
            f"video: frames of {frames.shape[1]}x{frames.shape[2]} pixels are too small to encode"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(clip_fps(clip)).limit_denominator(1001)
    with av.open(str(path), "w", format="mp4") as container:
        if "libx264" in av.codecs_available:
            stream = container.add_stream("libx264", rate=rate)
            stream.options = {"qp": "0", "preset": "ultrafast"}
        else:
            stream = container.add_stream("mpeg4", rate=rate)
            stream.options = {"qscale": "1"}
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1
        for frame in frames:
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def clip_name(task: str, sample_id: str) -> str:
    """A file name for a sample's clip that is safe whatever the id holds."""
    digest = hashlib.sha256(f"{task}\0{sample_id}".encode()).hexdigest()[:16]
    return f"{task}-{digest}.mp4"


def lmms_visuals(request: Request, workdir: Path, video: str = "frames") -> list[Any]:
    """What ``doc_to_visual`` returns for a request: video path, PIL image, HF-Audio dict.

    Args:
        request: A decoded savbench request.
        workdir: Folder for the clips written in ``frames`` mode.
        video: ``frames`` writes savbench's sampled (and possibly ablated) frames to an mp4, so the
            model sees what savbench decoded; ``file`` passes the sample's own video file, which
            the model decodes itself (savbench's frame sampling and ``--ablate video`` then do not
            apply). A clip cut from a file or held in memory is always written.
    """
    if video not in VIDEO_MODES:
        raise ValueError(f"video must be one of {', '.join(VIDEO_MODES)}, got {video!r}")
    visuals: list[Any] = []
    if request.video is not None:
        ref = request.sample.video
        whole_file = ref is not None and ref.path and ref.start is None and ref.end is None
        if video == "file" and whole_file:
            visuals.append(str(ref.path))
        else:
            visuals.append(
                str(write_clip(request.video, workdir / clip_name(request.sample.task, request.sample.id)))
            )
    if request.image is not None:
        from PIL import Image

        visuals.append(Image.fromarray(np.asarray(request.image, dtype=np.uint8)))
    if request.audio is not None:
        visuals.append(
            {"array": np.asarray(request.audio, dtype=np.float32), "sampling_rate": request.sample_rate}
        )
    return visuals


def lmms_messages(prompt: str, visuals: list[Any]) -> list[dict[str, Any]]:
    """One user turn in lmms-eval's chat format: media parts, then the prompt text.

    Args:
        prompt: The rendered prompt.
        visuals: What :func:`lmms_visuals` returned.
    """
    content: list[dict[str, Any]] = []
    for visual in visuals:
        if isinstance(visual, dict):
            content.append({"type": "audio", "url": visual})
        elif isinstance(visual, str):
            content.append({"type": "video", "url": visual})
        else:
            content.append({"type": "image", "url": visual})
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]
