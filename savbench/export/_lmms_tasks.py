"""What an exported lmms-eval task calls at run time (through its generated ``utils.py``).

The exported rows carry only the task name and sample id. Everything else comes from savbench:
the task spec and manifest are read again, media are decoded by ``savbench.media`` with the task's
settings, prompts are rendered by ``savbench.tasks`` and scores are computed by
``savbench.scoring`` from the predictions, so lmms-eval numbers match ``savbench run``.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from savbench.adapters import GenerationSettings, Request
from savbench.data import Sample, load_task_data
from savbench.export._lmms_media import lmms_messages, lmms_visuals
from savbench.runner import DecodeFailure, RequestPlan, build_request, sample_seed
from savbench.tasks import LoadedTask, TaskRegistry

MANIFEST_NAME = "savbench_export.json"
FORMAT_VERSION = 1
SPLIT = "test"
_STREAM_OF = {"speech": "audio", "audio": "audio", "video": "video", "image": "image"}


def request_plan(task: LoadedTask, seed: int = 0) -> RequestPlan:
    """How ``savbench run`` turns this task's samples into requests for a model that takes every
    stream the task has (as the lmms-eval bridge declares).

    Args:
        task: The task.
        seed: Run seed (requests carry a per-sample seed derived from it).
    """
    spec = task.spec
    consumed = frozenset(spec.modalities)
    return RequestPlan(
        task=task.name,
        prompt_template=spec.prompt,
        choice_format=spec.choice_format,
        decode_audio=bool(consumed & {"speech", "audio"}),
        audio_from_video=spec.audio_from_video,
        sample_rate=spec.media.audio.sample_rate,
        max_audio_seconds=spec.media.audio.max_seconds,
        decode_video="video" in consumed,
        video_settings=spec.media.video.model_dump(),
        decode_image="image" in consumed,
        modalities=consumed,
        generation=GenerationSettings(**spec.generation.model_dump()),
        seed=seed,
        optional=frozenset(_STREAM_OF[m] for m in spec.optional_modalities),
    )


@dataclass
class _Task:
    task: LoadedTask
    samples: dict[str, Sample]
    plan: RequestPlan


class ExportedTasks:
    """The savbench side of an exported folder: loads each task once and answers lmms-eval hooks.

    Args:
        folder: The export folder (holding ``savbench_export.json``).
    """

    _shared: ClassVar[dict[Path, ExportedTasks]] = {}

    @classmethod
    def shared(cls, folder: Path) -> ExportedTasks:
        """One instance per folder: lmms-eval loads ``utils.py`` afresh for every hook it names."""
        key = Path(folder).resolve()
        if key not in cls._shared:
            cls._shared[key] = cls(key)
        return cls._shared[key]

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        path = self.folder / MANIFEST_NAME
        try:
            self.manifest = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"{path}: cannot read the savbench export manifest: {exc}") from None
        if self.manifest.get("format") != FORMAT_VERSION:
            raise RuntimeError(
                f"{path}: format {self.manifest.get('format')!r}; re-export with this savbench"
            )
        self.video = self.manifest.get("video", "frames")
        self.seed = int(self.manifest.get("seed", 0))
        self.bootstrap_samples = int(self.manifest.get("bootstrap_samples", 1000))
        self._tasks: dict[str, _Task] = {}
        self._requests: OrderedDict[tuple[str, str], Request] = OrderedDict()
        self._scores: dict[tuple, Any] = {}
        self._workdir: Path | None = None

    # -- loading -----------------------------------------------------------------------------

    def _task(self, name: str) -> _Task:
        if name in self._tasks:
            return self._tasks[name]
        entry = self.manifest["tasks"].get(name)
        if entry is None:
            raise RuntimeError(f"{self.folder / MANIFEST_NAME}: task {name!r} was not exported")
        registry = TaskRegistry([Path(p) for p in self.manifest["search_paths"]])
        task = registry.tasks.get(name)
        if task is None:
            raise RuntimeError(f"savbench task {name!r} is not found under {self.manifest['search_paths']}")
        if task.fingerprint() != entry["spec_fingerprint"]:
            raise RuntimeError(
                f"savbench task {name!r} ({task.path}) changed since it was exported; "
                f"run `savbench export lmms-eval {self.folder}` again"
            )
        data = load_task_data(task, entry.get("media_root"))
        if data.source_id != entry["source_id"]:
            raise RuntimeError(
                f"the samples of savbench task {name!r} changed since they were exported "
                f"({entry['source_id']} -> {data.source_id}); export again"
            )
        loaded = _Task(task=task, samples={s.id: s for s in data.samples}, plan=request_plan(task, self.seed))
        self._tasks[name] = loaded
        return loaded

    def request(self, doc: dict[str, Any]) -> Request:
        """The decoded savbench request of an exported row (the last few are kept)."""
        key = (doc["savbench_task"], doc["id"])
        if key in self._requests:
            self._requests.move_to_end(key)
            return self._requests[key]
        loaded = self._task(key[0])
        sample = loaded.samples.get(key[1])
        if sample is None:
            raise RuntimeError(f"savbench task {key[0]!r} has no sample {key[1]!r}; export again")
        item = build_request(sample, loaded.plan).item
        if isinstance(item, DecodeFailure):
            where = f" ({item.file})" if item.file else ""
            raise RuntimeError(f"{key[0]}/{key[1]}: {item.kind}: {item.message}{where}")
        self._requests[key] = item
        while len(self._requests) > 8:
            self._requests.popitem(last=False)
        return item

    def _clips(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="savbench-lmms-export-"))
            atexit.register(shutil.rmtree, self._workdir, True)
        return self._workdir

    # -- lmms-eval hooks ---------------------------------------------------------------------

    def doc_to_visual(self, doc: dict[str, Any]) -> list[Any]:
        return lmms_visuals(self.request(doc), self._clips(), self.video)

    def doc_to_text(self, doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
        kwargs = lmms_eval_specific_kwargs or {}
        return f"{kwargs.get('pre_prompt', '')}{self.request(doc).prompt}{kwargs.get('post_prompt', '')}"

    def doc_to_messages(
        self, doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None
    ) -> list[dict]:
        return lmms_messages(self.doc_to_text(doc, lmms_eval_specific_kwargs), self.doc_to_visual(doc))

    def doc_to_target(self, doc: dict[str, Any]) -> str:
        references = doc.get("references") or [""]
        return references[0]

    def process_results(self, doc: dict[str, Any], results: list[Any]) -> dict[str, dict[str, Any]]:
        loaded = self._task(doc["savbench_task"])
        raw = results[0] if results else ""
        text = getattr(raw, "text", raw)
        prediction = _clean(str(text), loaded.plan.generation.stop)
        item = {"task": doc["savbench_task"], "id": doc["id"], "prediction": prediction}
        return {key: {**item, "metric": key} for key in metric_keys(loaded.task)}

    def aggregate(self, items: list[dict[str, Any]]) -> float | None:
        """A savbench metric over lmms-eval's per-sample items (corpus level, as savbench scores)."""
        if not items:
            return None
        name, key = items[0]["task"], items[0]["metric"]
        loaded = self._task(name)
        predictions = {item["id"]: item["prediction"] for item in items}
        cache_key = (name, tuple(sorted(predictions.items())))
        if cache_key not in self._scores:
            from savbench.scoring import score_task

            samples = [loaded.samples[i] for i in predictions if i in loaded.samples]
            rows = {i: {"prediction": p, "error": None} for i, p in predictions.items()}
            self._scores[cache_key] = score_task(
                loaded.task, samples, rows, seed=self.seed, bootstrap_samples=self.bootstrap_samples
            )
        result = self._scores[cache_key].metrics.get(key)
        return None if result is None or result.score is None else float(result.score)

    def seed_of(self, doc: dict[str, Any]) -> int:
        """The per-sample seed ``savbench run --seed`` gives this sample."""
        return sample_seed(self.seed, doc["savbench_task"], doc["id"])


def _clean(text: str, stops: tuple[str, ...]) -> str:
    for stop in stops:
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    return text.strip()


def metric_keys(task: LoadedTask) -> list[str]:
    """The report keys of a task's metrics, as savbench results name them."""
    from savbench.scoring import metric_key

    names = [m.name for m in task.spec.metrics]
    return [
        m.name if names.count(m.name) == 1 else metric_key(m.name, m.options()) for m in task.spec.metrics
    ]
