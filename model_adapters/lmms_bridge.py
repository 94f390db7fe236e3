"""Any lmms-eval model class behind the savbench adapter interface: ``--model lmms:NAME``.

Each batch of savbench requests becomes lmms-eval ``Instance`` objects for ``generate_until``.
The model gets a ``task_dict`` shim, so ``doc_to_visual(task_dict[task][split][doc_id])`` returns
what lmms-eval models expect: a video path, a PIL image and an HF-Audio dict
(``{"array", "sampling_rate"}``), built from savbench's decoded media (see
:mod:`savbench.export`). Chat-style lmms-eval models (``is_simple = False``) get the same
media as ``doc_to_messages`` parts.

Model arguments: ``batch_size`` (requests per lmms-eval call, also passed to the model; default 1),
``device`` (passed to the model when given), ``video`` (``frames``, default: savbench's sampled frames
written to an mp4; ``file``: the sample's own file), ``simple`` (``true`` picks the model's simple
implementation when it has a chat one too); every other argument goes to the lmms-eval model as
its ``model_args``.

lmms-eval is imported here only, when the adapter is built: importing it rewires loguru.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from model_adapters._torch_base import cut_at_stop, parse_bool, parse_int
from savbench.adapters import MODALITIES, Adapter, Request, SampleFailure
from savbench.export import VIDEO_MODES, lmms_gen_kwargs, lmms_messages, lmms_visuals

SPLIT = "test"


def resolve_lmms_model(name: str, force_simple: bool = False) -> type:
    """The lmms-eval model class registered as ``name`` (registry manifests first, then classes
    registered with ``lmms_eval.api.registry.register_model``).

    Raises:
        ValueError: lmms-eval is not installed or knows no such model.
    """
    try:
        from lmms_eval import models as lmms_models
        from lmms_eval.api.registry import MODEL_REGISTRY
    except ImportError as exc:
        raise ValueError(
            f"lmms:{name} needs lmms-eval: pip install 'savbench[lmms]' ({type(exc).__name__}: {exc})"
        ) from None
    try:
        return lmms_models.get_model(name, force_simple)
    except Exception as exc:  # lmms-eval raises several kinds for unknown or broken models
        if name in MODEL_REGISTRY:
            return MODEL_REGISTRY[name]
        raise ValueError(f"lmms-eval has no usable model {name!r}: {type(exc).__name__}: {exc}") from None


class LmmsEvalAdapter(Adapter):
    """An lmms-eval model (``lmms:NAME``) fed savbench's decoded media."""

    name = "lmms"
    modalities = MODALITIES
    description = "any lmms-eval model class as lmms:NAME (it uses the streams its own code reads)"
    requirements = "the lmms extra (pip install 'savbench[lmms]') and what the lmms-eval model needs"

    def __init__(
        self,
        lmms_model: str | None = None,
        batch_size: str = "1",
        device: str | None = None,
        video: str = "frames",
        simple: str = "false",
        **model_args: str,
    ) -> None:
        if not lmms_model:
            raise ValueError("name the lmms-eval model as --model lmms:NAME (e.g. lmms:qwen2_audio)")
        if video not in VIDEO_MODES:
            raise ValueError(f"video must be one of {', '.join(VIDEO_MODES)}, got {video!r}")
        self.lmms_model = lmms_model
        self.video = video
        self.max_batch_size = parse_int("batch_size", batch_size, minimum=1)
        self.model_args = dict(model_args)
        cls = resolve_lmms_model(lmms_model, parse_bool("simple", simple))
        arg_string = ",".join(f"{key}={value}" for key, value in self.model_args.items())
        extra = {"batch_size": self.max_batch_size, "device": device}
        try:
            self.lm = cls.create_from_arg_string(arg_string, extra)
        except TypeError as exc:
            raise ValueError(f"lmms-eval model {lmms_model!r} rejected its arguments: {exc}") from None
        self.device = device
        self.is_simple = bool(getattr(self.lm, "is_simple", True))

    def fingerprint(self) -> dict[str, Any]:
        import lmms_eval

        return {
            "adapter": f"lmms:{self.lmms_model}",
            "class": f"{type(self.lm).__module__}.{type(self.lm).__qualname__}",
            "model_args": dict(sorted(self.model_args.items())),
            "device": self.device,
            "video": self.video,
            "interface": "simple" if self.is_simple else "chat",
            "lmms_eval": getattr(lmms_eval, "__version__", None),
        }

    def generate(self, requests: list[Request]) -> list[str | SampleFailure]:
        from lmms_eval.api.instance import Instance

        workdir = Path(tempfile.mkdtemp(prefix="savbench-lmms-"))
        try:
            docs: dict[str, dict[int, dict[str, Any]]] = {}
            instances = []
            for doc_id, request in enumerate(requests):
                task = request.sample.task
                visuals = lmms_visuals(request, workdir, self.video)
                docs.setdefault(task, {})[doc_id] = {
                    "savbench_task": task,
                    "id": request.sample.id,
                    "prompt": request.prompt,
                    "visuals": visuals,
                }
                gen_kwargs = lmms_gen_kwargs(request.generation)
                if self.is_simple:
                    arguments = (request.prompt, gen_kwargs, _doc_visuals, doc_id, task, SPLIT)
                else:
                    arguments = (request.prompt, _doc_messages, gen_kwargs, doc_id, task, SPLIT)
                metadata = {"task": task, "doc_id": doc_id, "repeats": 1}
                instances.append(
                    Instance(request_type="generate_until", arguments=arguments, idx=0, metadata=metadata)
                )
            self.lm.task_dict = {task: {SPLIT: rows} for task, rows in docs.items()}
            _seed(requests[0].seed if requests else 0)
            answers = self.lm.generate_until(instances)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if len(answers) != len(requests):
            raise RuntimeError(
                f"lmms-eval model {self.lmms_model!r} returned {len(answers)} answers "
                f"for {len(requests)} requests"
            )
        outputs: list[str | SampleFailure] = []
        for request, answer in zip(requests, answers, strict=True):
            text = getattr(answer, "text", answer)
            if not isinstance(text, str):
                outputs.append(
                    SampleFailure("adapter", f"lmms-eval model returned {type(text).__name__}, not text")
                )
                continue
            outputs.append(cut_at_stop(text, request.generation.stop).strip())
        return outputs

    def close(self) -> None:
        clean = getattr(self.lm, "clean", None)
        if callable(clean):
            clean()


def _doc_visuals(doc: dict[str, Any]) -> list[Any]:
    return doc["visuals"]


def _doc_messages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return lmms_messages(doc["prompt"], doc["visuals"])


def _seed(seed: int) -> None:
    """lmms-eval models draw from the global generators; seed them per call."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
