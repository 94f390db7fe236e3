"""Cheap facts about a media file, read from its headers (nothing is decoded in full)."""

from __future__ import annotations

from dataclasses import dataclass

from savbench.media._source import MediaLike, as_ref, check_readable, open_container
from savbench.media._types import MediaError


@dataclass(frozen=True)
class MediaInfo:
    """What a container declares about its first audio and video streams.

    Args:
        duration: Seconds (the longest stream), or None when the container does not say.
        has_audio: Whether an audio stream exists.
        has_video: Whether a video stream exists (cover art attached to audio does not count).
        sample_rate: Audio sample rate in Hz.
        channels: Audio channel count.
        fps: Average video frame rate.
        frames: Video frame count: declared, else estimated as duration x fps; 0 when unknown.
        width: Coded video width in pixels.
        height: Coded video height in pixels.
        audio_codec: Audio codec name.
        video_codec: Video codec name.
        format: Container format name as FFmpeg detected it from the content.
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
    audio_codec: str | None = None
    video_codec: str | None = None
    format: str | None = None


def probe(media: MediaLike) -> MediaInfo:
    """Read a file's stream layout and duration from its headers.

    Args:
        media: A :class:`~savbench.data.MediaRef` (path or bytes) or a path.

    Raises:
        MediaError: The file is missing, unreadable, empty or not a media file (stream
            ``media`` in the error).
    """
    import av

    ref = as_ref(media)
    check_readable(ref, "media")
    with open_container(ref, "media") as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        videos = [
            s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        video = videos[0] if videos else None
        lengths = [float(s.duration * s.time_base) for s in (audio, video) if s is not None and s.duration]
        duration = (
            max(lengths) if lengths else (container.duration / 1_000_000 if container.duration else None)
        )
        fps = None
        if video is not None and (video.average_rate or video.guessed_rate):
            fps = float(video.average_rate or video.guessed_rate)
        frames = int(video.frames or 0) if video is not None else 0
        if video is not None and not frames and fps and duration:
            length = float(video.duration * video.time_base) if video.duration else duration
            frames = round(length * fps)
        if audio is None and video is None:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise MediaError(ref.name, "media", f"no audio or video stream (its streams: {kinds})")
        return MediaInfo(
            duration=duration,
            has_audio=audio is not None,
            has_video=video is not None,
            sample_rate=(audio.codec_context.sample_rate or None) if audio is not None else None,
            channels=(audio.codec_context.channels or None) if audio is not None else None,
            fps=fps,
            frames=frames,
            width=(video.codec_context.width or None) if video is not None else None,
            height=(video.codec_context.height or None) if video is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            video_codec=video.codec_context.name if video is not None else None,
            format=container.format.name,
        )
