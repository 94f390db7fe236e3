"""Media decoding: audio to mono float32 at a fixed rate, video to sampled frames with
timestamps, images to RGB arrays. Errors name the file, the stream and the reason."""

from savbench.media._audio import is_silent, load_audio, resample
from savbench.media._image import load_image
from savbench.media._probe import MediaInfo, probe
from savbench.media._types import MediaError, VideoClip
from savbench.media._video import BACKENDS, load_video, select_frames

__all__ = [
    "BACKENDS",
    "MediaError",
    "MediaInfo",
    "VideoClip",
    "is_silent",
    "load_audio",
    "load_image",
    "load_video",
    "probe",
    "resample",
    "select_frames",
]
