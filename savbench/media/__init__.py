"""Media decoding: audio to mono float32 at a fixed rate, video to sampled frames with
timestamps, images to RGB arrays, and cheap header probes. Errors name the file, the stream
and the reason (:class:`MediaError`).

Decoders use one thread each by default, since decoding runs in several worker processes;
see :func:`set_decode_threads` and :func:`configure_worker`.
"""

from savbench.media._audio import is_silent, load_audio
from savbench.media._image import load_image
from savbench.media._probe import MediaInfo, probe
from savbench.media._resample import downmix, resample
from savbench.media._threads import configure_worker, decode_threads, set_decode_threads
from savbench.media._types import MediaError, VideoClip
from savbench.media._video import BACKENDS, load_video
from savbench.media._video_sampling import frames_on_screen, sample_times

__all__ = [
    "BACKENDS",
    "MediaError",
    "MediaInfo",
    "VideoClip",
    "configure_worker",
    "decode_threads",
    "downmix",
    "frames_on_screen",
    "is_silent",
    "load_audio",
    "load_image",
    "load_video",
    "probe",
    "resample",
    "sample_times",
    "set_decode_threads",
]
