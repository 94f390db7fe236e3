from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import soundfile as sf

from model_adapters.openai_compat import OpenAICompatibleAdapter
from savbench.adapters import GenerationSettings, Request, SampleFailure, build_adapter
from savbench.data import Sample
from savbench.media import VideoClip
from tests.chat_server import chat_server, reply


def make_request(i: int, *, audio: bool = True, video: bool = False, image: bool = False) -> Request:
    rng = np.random.default_rng(i)
    clip = None
    if video:
        frames = rng.integers(0, 255, size=(3, 8, 8, 3), dtype=np.uint8)
        clip = VideoClip(frames=frames, timestamps=np.array([0.5, 1.5, 2.5]), duration=3.0, source_fps=10.0)
    return Request(
        sample=Sample(id=f"s{i}", task="t", question="q", references=("r",)),
        prompt=f"question {i}",
        modalities=frozenset({"audio", "video", "image"}),
        audio=(0.1 * np.sin(np.arange(1600) / 5)).astype(np.float32) if audio else None,
        video=clip,
        image=rng.integers(0, 255, size=(4, 5, 3), dtype=np.uint8) if image else None,
        generation=GenerationSettings(max_new_tokens=7),
        seed=100 + i,
    )


def test_requires_model_name() -> None:
    with pytest.raises(ValueError, match="model is required"):
        OpenAICompatibleAdapter()


def test_request_format_carries_every_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-do-not-log")
    with chat_server(lambda body, i: reply("ok " + body["messages"][-1]["content"][-1]["text"])) as server:
        adapter = build_adapter(
            "openai",
            {"model": "served-model", "base_url": server.url, "api_key_env": "MY_KEY", "system": "Be brief."},
        )
        outputs = adapter.generate([make_request(0, video=True, image=True)])
    assert outputs == ["ok question 0"]
    body = server.requests[0]
    assert body["model"] == "served-model" and body["max_tokens"] == 7 and body["temperature"] == 0.0
    assert body["seed"] == 100
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][1]["content"]
    kinds = [p["type"] for p in parts]
    assert kinds == ["text", "image_url"] * 3 + ["image_url", "input_audio", "text"]
    assert parts[0]["text"] == "Frame at 0.50s:"
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    wav = base64.b64decode(parts[-2]["input_audio"]["data"])
    audio, rate = sf.read(io.BytesIO(wav))
    assert rate == 16000 and len(audio) == 1600
    assert server.headers[0]["Authorization"] == "Bearer sk-do-not-log"
    assert "sk-do-not-log" not in json.dumps(adapter.fingerprint())


def test_max_frames_subsamples_video() -> None:
    with chat_server(lambda body, i: reply("x")) as server:
        adapter = OpenAICompatibleAdapter(model="m", base_url=server.url, max_frames="2")
        adapter.generate([make_request(0, audio=False, video=True)])
    images = [p for p in server.requests[0]["messages"][0]["content"] if p["type"] == "image_url"]
    assert len(images) == 2


def test_a_failing_request_becomes_a_sample_failure_others_succeed() -> None:
    def respond(body, i):
        text = body["messages"][-1]["content"][-1]["text"]
        return (400, {}, b"content policy") if text == "question 1" else reply(text)

    with chat_server(respond) as server:
        adapter = OpenAICompatibleAdapter(model="m", base_url=server.url, concurrency="3")
        outputs = adapter.generate([make_request(i) for i in range(3)])
    assert outputs[0] == "question 0" and outputs[2] == "question 2"
    assert isinstance(outputs[1], SampleFailure) and "HTTP 400" in outputs[1].message


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="concurrency must be an integer"):
        OpenAICompatibleAdapter(model="m", concurrency="many")
    with pytest.raises(ValueError, match="video_mode"):
        OpenAICompatibleAdapter(model="m", video_mode="gif")
    with pytest.raises(ValueError, match="modalities: unknown"):
        OpenAICompatibleAdapter(model="m", modalities="audio+smell")
