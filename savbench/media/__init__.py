"""Media decoding: audio to 16 kHz mono float32, video to sampled frames with timestamps, images."""

from savbench.media._types import MediaError, VideoClip

__all__ = ["MediaError", "VideoClip"]
