"""A tiny lmms-eval model for tests: it answers with a digest of the prompt and of every visual
it was given, so a test can see exactly which media reached an lmms-eval model.

Import only where lmms-eval is installed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from lmms_eval.api.registry import register_model

NAME = "savbench_echo"
CHAT_NAME = "savbench_echo_chat"


def describe(visual: Any) -> str:
    """A short deterministic description of one visual (HF-Audio dict, video path or PIL image)."""
    if isinstance(visual, dict):
        array = np.asarray(visual["array"], dtype=np.float64)
        return f"audio:{array.size}@{visual['sampling_rate']}:{np.abs(array).sum():.4f}"
    if isinstance(visual, str):
        import av

        with av.open(visual) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return f"video:{len(frames)}x{frames[0].shape[1]}x{frames[0].shape[0]}:{np.mean(frames):.3f}"
    pixels = np.asarray(visual, dtype=np.float64)
    return f"image:{visual.size[0]}x{visual.size[1]}:{pixels.mean():.3f}"


def echo(prompt: str, visuals: list[Any], gen_kwargs: dict[str, Any]) -> str:
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    parts = [f"prompt:{digest}", *(describe(v) for v in visuals), f"max:{gen_kwargs.get('max_new_tokens')}"]
    return " ".join(parts)


@register_model(NAME)
class EchoModel(lmms):
    """Answers every request with :func:`echo` of what it received (simple interface)."""

    def __init__(
        self, tag: str = "", batch_size: int | str = 1, device: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self.tag = tag
        self.batch_size = int(batch_size)
        self.calls: list[int] = []

    def generate_until(self, requests: list[Instance]) -> list[str]:
        self.calls.append(len(requests))
        answers = []
        for request in requests:
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            visuals = doc_to_visual(self.task_dict[task][split][doc_id])
            answers.append((self.tag + " " if self.tag else "") + echo(context, visuals, gen_kwargs))
        return answers

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError


class EchoChatModel(EchoModel):
    """The same answers through lmms-eval's chat interface (``doc_to_messages``)."""

    is_simple = False

    def generate_until(self, requests: list[Instance]) -> list[str]:
        self.calls.append(len(requests))
        answers = []
        for request in requests:
            context, doc_to_messages, gen_kwargs, doc_id, task, split = request.args
            messages = doc_to_messages(self.task_dict[task][split][doc_id])
            parts = messages[-1]["content"]
            text = next(p["text"] for p in parts if p["type"] == "text")
            visuals = [p["url"] for p in parts if p["type"] != "text"]
            answers.append("chat " + echo(text, visuals, gen_kwargs))
        return answers


def register() -> None:
    """Make the echo models resolvable by name, as an installed lmms-eval plugin would be."""
    from lmms_eval.models import MODEL_REGISTRY_V2
    from lmms_eval.models.registry_v2 import ModelManifest

    for model_id, kind, cls in ((NAME, "simple", EchoModel), (CHAT_NAME, "chat", EchoChatModel)):
        path = f"{__name__}.{cls.__name__}"
        manifest = ModelManifest(model_id=model_id, **{f"{kind}_class_path": path})
        MODEL_REGISTRY_V2.register_manifest(manifest, overwrite=True)
