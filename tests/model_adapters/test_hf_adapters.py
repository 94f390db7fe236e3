"""The transformers adapters with their tiny random models: batching, media reaching the model,
decoding settings, argument errors and modality refusal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from savbench.adapters import GenerationSettings, Request, SampleFailure, build_adapter, get_adapter_class
from savbench.data import Sample
from savbench.media import VideoClip

pytest.importorskip("transformers")
pytest.importorskip("torchvision")  # the transformers video processors need it

MODELS = {
    "qwen2.5-omni": {"speech", "audio", "video", "image"},
    "qwen2-audio": {"speech", "audio"},
    "whisper": {"speech"},
    "llava-onevision": {"video", "image"},
    "instructblip": {"image"},
}
_BUILT: dict[str, object] = {}


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


def tiny(name: str):
    if name not in _BUILT:
        _BUILT[name] = build_adapter(name, {"preset": "tiny", "device": "cpu"})
    return _BUILT[name]


def make_request(
    i: int,
    *,
    audio: float | None = 2.0,
    video: int | None = None,
    image: tuple[int, int] | None = None,
    prompt: str | None = None,
    generation: GenerationSettings | None = None,
    audio_seed: int | None = None,
    pixels_seed: int | None = None,
) -> Request:
    """A request with generated media: ``audio`` seconds of a tone over noise (pitch and noise from
    ``audio_seed``), ``video`` frames and an ``image`` of (H, W) of colour gradients (from
    ``pixels_seed``)."""
    sound = i if audio_seed is None else audio_seed
    rng = np.random.default_rng(sound)
    pixels = np.random.default_rng(1000 + (i if pixels_seed is None else pixels_seed))
    clip = None
    if video is not None:
        clip = VideoClip(
            frames=np.stack([_picture((48, 64), pixels) for _ in range(video)]),
            timestamps=np.arange(video) / 2.0,
            duration=video / 2.0,
            source_fps=2.0,
        )
    return Request(
        sample=Sample(id=f"s{i}", task="t", question="q", references=("r",)),
        prompt=prompt if prompt is not None else f"Question {i}: what do you hear and see?",
        modalities=frozenset({"speech", "audio", "video", "image"}),
        audio=_tone(audio, 220.0 * (1 + sound % 7), rng) if audio else None,
        video=clip,
        image=_picture(image, pixels) if image else None,
        generation=generation or GenerationSettings(max_new_tokens=8),
        seed=i,
    )


def _picture(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A colour gradient (colours drawn from ``rng``) with a little noise."""
    low, high = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, size[1])[None, :, None]
    image = low + (high - low) * ramp + rng.normal(0, 8, size=(*size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _tone(seconds: float, hz: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * hz * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def batch_for(name: str) -> list[Request]:
    """Requests of unequal sizes (so batching pads) for the streams the model takes."""
    takes = MODELS[name]
    with_audio = bool(takes & {"speech", "audio"})
    requests = []
    for i, seconds in enumerate((1.5, 3.0, 2.2, 4.0)):
        requests.append(
            make_request(
                i,
                audio=seconds if with_audio else None,
                video=6 if "video" in takes and i % 2 == 0 else None,
                image=(30 + 9 * i, 40 - 3 * i)
                if "image" in takes and (i % 2 == 1 or "video" not in takes)
                else None,
                prompt="Say" + " and then" * i + " what you hear and see.",
            )
        )
    return requests


def test_registry_names_and_modalities() -> None:
    for name, streams in MODELS.items():
        cls = get_adapter_class(name)
        assert cls.modalities == streams
        assert cls.requirements and "pretrained=" in cls.requirements


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batches_give_the_answers_of_single_requests(name: str) -> None:
    adapter = tiny(name)
    requests = batch_for(name)
    together = adapter.generate(requests)
    alone = [adapter.generate([r])[0] for r in requests]
    assert all(isinstance(a, str) for a in together), together
    assert together == alone
    adapter.max_batch_size, saved = 2, adapter.max_batch_size
    try:
        assert adapter.generate(requests) == together
    finally:
        adapter.max_batch_size = saved


def test_a_rebuilt_tiny_model_answers_the_same() -> None:
    requests = batch_for("qwen2-audio")[:2]
    again = build_adapter("qwen2-audio", {"preset": "tiny", "device": "cpu", "batch_size": "1"})
    assert again.generate(requests) == tiny("qwen2-audio").generate(requests)
    assert again.fingerprint() == tiny("qwen2-audio").fingerprint()
    other = build_adapter("qwen2-audio", {"preset": "tiny", "device": "cpu", "seed": "3"})
    assert other.fingerprint()["weights"] != again.fingerprint()["weights"]


@pytest.mark.parametrize(
    ("name", "streams"),
    [
        ("qwen2-audio", {}),
        ("whisper", {}),
        ("qwen2.5-omni", {}),
        ("qwen2.5-omni", {"video": 6}),  # audio interleaved with the frames
        ("qwen2.5-omni", {"image": (40, 40)}),
    ],
)
def test_the_audio_reaches_the_model(name: str, streams: dict) -> None:
    # Same prompt and pictures, different sounds: the answers must differ.
    requests = [make_request(0, audio_seed=k, pixels_seed=0, **streams) for k in range(3)]
    answers = tiny(name).generate(requests)
    assert len(set(answers)) == 3, answers
    (silent,) = tiny(name).generate([replace(requests[0], audio=np.zeros_like(requests[0].audio))])
    assert silent != answers[0]


@pytest.mark.parametrize(
    ("name", "streams"),
    [
        ("qwen2.5-omni", {"video": 6, "audio": None}),
        ("qwen2.5-omni", {"image": (40, 40), "audio": None}),
        ("llava-onevision", {"video": 6, "audio": None}),
        ("llava-onevision", {"image": (40, 40), "audio": None}),
        ("instructblip", {"image": (40, 40), "audio": None}),
    ],
)
def test_the_pictures_reach_the_model(name: str, streams: dict) -> None:
    requests = [make_request(0, pixels_seed=k, **streams) for k in range(3)]
    answers = tiny(name).generate(requests)
    assert len(set(answers)) == 3, answers


def test_a_request_without_the_needed_stream_fails_alone() -> None:
    out = tiny("whisper").generate([make_request(0), make_request(1, audio=None)])
    assert isinstance(out[0], str)
    assert isinstance(out[1], SampleFailure) and out[1].kind == "input"
    assert "whisper needs audio" in out[1].message
    (blip,) = tiny("instructblip").generate([make_request(2, audio=None)])
    assert isinstance(blip, SampleFailure) and "instructblip needs image" in blip.message


def test_sampling_follows_the_request_seed() -> None:
    adapter = tiny("qwen2-audio")
    sampled = GenerationSettings(max_new_tokens=8, temperature=1.0)
    requests = [replace(make_request(0, generation=sampled, audio_seed=5), seed=s) for s in (1, 2, 3, 1)]
    answers = adapter.generate(requests)
    assert answers[0] == answers[3]
    assert len(set(answers[:3])) > 1
    assert adapter.generate([requests[1]]) == [answers[1]]


def test_stop_strings_cut_the_answer() -> None:
    adapter = tiny("qwen2-audio")
    (full,) = adapter.generate([make_request(7, generation=GenerationSettings(max_new_tokens=12))])
    assert len(full) > 4
    stop = full[3:5]
    (cut,) = adapter.generate(
        [make_request(7, generation=GenerationSettings(max_new_tokens=12, stop=(stop,)))]
    )
    assert cut == full.split(stop, 1)[0].strip()


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    cls = get_adapter_class("qwen2-audio")
    with pytest.raises(ValueError, match=r"unknown model argument\(s\) \['temprature'\]"):
        cls(preset="tiny", device="cpu", temprature="0")
    with pytest.raises(ValueError, match="needs pretrained=PATH_OR_HUB_ID"):
        cls(device="cpu")
    with pytest.raises(ValueError, match="not both"):
        cls(preset="tiny", pretrained="x", device="cpu")
    with pytest.raises(ValueError, match="preset must be one of tiny"):
        cls(preset="huge", device="cpu")
    with pytest.raises(ValueError, match="attn must be one of"):
        cls(preset="tiny", device="cpu", attn="fast")
    with pytest.raises(ValueError, match="task must be one of"):
        get_adapter_class("whisper")(preset="tiny", device="cpu", task="summarise")
    missing = tmp_path / "no-such-model"
    missing.mkdir()
    with pytest.raises(
        ValueError, match=rf"pretrained={missing}: cannot load the qwen2-audio model from this folder"
    ):
        cls(pretrained=str(missing), device="cpu")


def save_like_a_release(name: str, folder: Path) -> None:
    """Write the tiny model and processor as the released checkpoint is laid out."""
    adapter = tiny(name)
    if name == "qwen2.5-omni":
        # The release is the whole model (weights under thinker.*); the talker is not built here.
        from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

        config = Qwen2_5OmniConfig(thinker_config=adapter.model.config.to_dict(), enable_audio_output=False)
        whole = Qwen2_5OmniForConditionalGeneration(config)
        whole.thinker.load_state_dict(adapter.model.state_dict())
        whole.save_pretrained(folder)
    else:
        adapter.model.save_pretrained(folder)
    adapter.processor.save_pretrained(folder)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_saved_model_loads_from_its_folder(tmp_path: Path, name: str) -> None:
    save_like_a_release(name, tmp_path)
    args = {"pretrained": str(tmp_path), "device": "cpu"}
    if name == "qwen2.5-omni":
        args["max_pixels"] = str(tiny(name).max_pixels)  # the tiny preset's picture size
    loaded = build_adapter(name, args)
    requests = batch_for(name)[:2]
    assert loaded.generate(requests) == tiny(name).generate(requests)
    weights = loaded.fingerprint()["weights"]
    assert weights["pretrained"] == str(tmp_path) and "model.safetensors" in weights["files"]["files"]


def test_a_checkpoint_missing_weights_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_like_a_release("whisper", tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    dropped = sorted(k for k in tensors if "encoder.layers.0.fc1" in k)
    save_file({k: v for k, v in tensors.items() if k not in dropped}, tmp_path / "model.safetensors")
    with pytest.raises(
        ValueError, match=r"the checkpoint lacks 2 weight\(s\) of WhisperForConditionalGeneration"
    ):
        build_adapter("whisper", {"pretrained": str(tmp_path), "device": "cpu"})
    lenient = build_adapter("whisper", {"pretrained": str(tmp_path), "device": "cpu", "strict": "false"})
    assert lenient.fingerprint()["weights"]["missing_weights"] == dropped


@pytest.mark.cuda
@pytest.mark.parametrize("name", sorted(MODELS))
def test_bf16_on_cuda(name: str) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    adapter = build_adapter(name, {"preset": "tiny", "device": "cuda", "dtype": "bf16"})
    assert next(adapter.model.parameters()).dtype == torch.bfloat16
    answers = adapter.generate(batch_for(name))
    assert len(answers) == 4 and all(isinstance(a, str) for a in answers)
    assert adapter.fingerprint()["dtype"] == "bf16"
