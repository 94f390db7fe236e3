"""Cheap facts about a media file, read from its headers (no full decode)."""

from __future__ import annotations

from dataclasses import dataclass

from savbench.media._source import MediaLike, as_ref, check_readable, open_binary
from savbench.media._types import MediaError


@dataclass(frozen=True)
class MediaInfo:
    """What a container declares.

    Args:
        duration: Seconds, or None when the container does not say.
        has_audio: Whether an audio stream exists.
        has_video: Whether a video (or still-image) stream exists.
        sample_rate: Audio sample rate.
        channels: Audio channel count.
        fps: Average video frame rate.
        frames: Declared video frame count (0 when unknown).
        width: Video width in pixels.
        height: Video height in pixels.
    """

    duration: float | None
    has_audio: bool
    has_video: bool
    sample_rate: int | None = None
    channels: int | None = None
    fps: float | None = None
    frames: int = 0
    width: int | None = None
    height: int | None = None


def probe(media: MediaLike) -> MediaInfo:
    """Read a file's stream layout and duration.

    Raises:
        MediaError: The file is missing, unreadable, empty or not a media file.
    """
    import av

    ref = as_ref(media)
    check_readable(ref, "media")
    try:
        container = av.open(open_binary(ref), mode="r")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError) as exc:
        raise MediaError(
            ref.name, "media", f"not a readable media file ({type(exc).__name__}: {exc})"
        ) from None
    with container:
        audio = container.streams.audio[0] if container.streams.audio else None
        video = container.streams.video[0] if container.streams.video else None
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None:
            for stream in (audio, video):
                if stream is not None and stream.duration is not None:
                    duration = float(stream.duration * stream.time_base)
                    break
        return MediaInfo(
            duration=duration,
            has_audio=audio is not None,
            has_video=video is not None,
            sample_rate=(audio.codec_context.sample_rate or None) if audio else None,
            channels=(audio.codec_context.channels or None) if audio else None,
            fps=float(video.average_rate) if video is not None and video.average_rate else None,
            frames=int(video.frames or 0) if video is not None else 0,
            width=video.codec_context.width if video is not None else None,
            height=video.codec_context.height if video is not None else None,
        )
