"""Models behind an OpenAI-compatible chat endpoint: a vLLM or SGLang server, or a hosted API.

Media travel as content parts: audio as base64 WAV (``input_audio``), images as base64 PNG
(``image_url`` data URLs), video as its sampled frames (one image part per frame, each preceded
by its timestamp) or, with ``video_mode=video_url``, as a data URL of the frames for servers that
accept video. The API key is read from the environment variable named by ``api_key_env`` at
call time and never appears in fingerprints or reports.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from savbench.adapters import MODALITIES, Adapter, Request, SampleFailure
from savbench.http import ChatClient, ChatError, message_text

VIDEO_MODES = ("frames", "video_url")


def wav_base64(audio: np.ndarray, sample_rate: int) -> str:
    """16-bit PCM WAV bytes of a float waveform, base64-encoded."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_data_url(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _int_arg(name: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


class OpenAICompatibleAdapter(Adapter):
    """Chat-completions endpoint adapter.

    Model args: ``model`` (required), ``base_url`` (default http://localhost:8000/v1),
    ``api_key_env`` (default OPENAI_API_KEY), ``concurrency`` (4), ``timeout`` (seconds, 120),
    ``max_retries`` (5), ``video_mode`` (frames|video_url), ``max_frames`` (frames sent per
    video, default all sampled), ``system`` (system prompt), ``modalities`` (comma list with
    '+' separators, e.g. ``speech+audio+image``; default all).
    """

    name = "openai"
    modalities = MODALITIES
    description = "any OpenAI-compatible chat endpoint (vLLM, SGLang, hosted APIs); media as content parts"
    requirements = "model=NAME, base_url=URL; API key in $OPENAI_API_KEY (or api_key_env=VAR)"

    def __init__(
        self,
        model: str | None = None,
        base_url: str = "http://localhost:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: str | int = 4,
        timeout: str | float = 120,
        max_retries: str | int = 5,
        video_mode: str = "frames",
        max_frames: str | int | None = None,
        system: str | None = None,
        modalities: str | None = None,
    ) -> None:
        if not model:
            raise ValueError(
                "model is required (the name the endpoint serves), e.g. model=Qwen/Qwen2.5-Omni-7B"
            )
        if video_mode not in VIDEO_MODES:
            raise ValueError(f"video_mode must be one of {VIDEO_MODES}, got {video_mode!r}")
        if modalities:
            chosen = frozenset(m.strip() for m in modalities.split("+") if m.strip())
            unknown = sorted(chosen - MODALITIES)
            if unknown:
                raise ValueError(f"modalities: unknown stream(s) {unknown}")
            self.modalities = chosen  # type: ignore[misc]
        self.video_mode = video_mode
        self.max_frames = None if max_frames in (None, "") else _int_arg("max_frames", max_frames, 1)
        self.system = system
        self.client = ChatClient(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            timeout=float(timeout),
            max_retries=_int_arg("max_retries", max_retries, 0),
            concurrency=_int_arg("concurrency", concurrency, 1),
        )
        self.max_batch_size = max(1, self.client.concurrency * 4)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "adapter": self.name,
            "model": self.client.model,
            "base_url": self.client.base_url,
            "video_mode": self.video_mode,
            "max_frames": self.max_frames,
            "system": self.system,
            "modalities": sorted(self.modalities),
        }

    def messages(self, request: Request) -> list[dict[str, Any]]:
        """The chat messages for one request (media parts first, then the prompt)."""
        parts: list[dict[str, Any]] = []
        if request.video is not None:
            frames = request.video.frames
            stamps = request.video.timestamps
            if self.max_frames is not None and len(frames) > self.max_frames:
                keep = np.linspace(0, len(frames) - 1, self.max_frames).round().astype(int)
                frames, stamps = frames[keep], stamps[keep]
            if self.video_mode == "video_url":
                parts.append({"type": "video_url", "video_url": {"url": [png_data_url(f) for f in frames]}})
            else:
                for frame, stamp in zip(frames, stamps, strict=True):
                    parts.append({"type": "text", "text": f"Frame at {stamp:.2f}s:"})
                    parts.append({"type": "image_url", "image_url": {"url": png_data_url(frame)}})
        if request.image is not None:
            parts.append({"type": "image_url", "image_url": {"url": png_data_url(request.image)}})
        if request.audio is not None:
            parts.append(
                {
                    "type": "input_audio",
                    "input_audio": {"data": wav_base64(request.audio, request.sample_rate), "format": "wav"},
                }
            )
        parts.append({"type": "text", "text": request.prompt})
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": parts})
        return messages

    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        if not requests:
            return []
        settings = requests[0].generation
        params: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature}
        if settings.do_sample:
            params["top_p"] = settings.top_p
        if settings.stop:
            params["stop"] = list(settings.stop)
        if any(r.generation != settings for r in requests):
            return [self.generate([r])[0] for r in requests]
        responses = self.client.complete_many(
            [self.messages(r) for r in requests], per_request=[{"seed": r.seed} for r in requests], **params
        )
        outputs: list[str | SampleFailure] = []
        for response in responses:
            if isinstance(response, ChatError):
                outputs.append(SampleFailure("api", str(response)))
                continue
            try:
                outputs.append(message_text(response))
            except ChatError as exc:
                outputs.append(SampleFailure("api", str(exc)))
        return outputs
