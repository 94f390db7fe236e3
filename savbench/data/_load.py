"""One entry point from a task spec to its samples, whatever the source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from savbench._errors import SpecError
from savbench.data._manifest import file_digest, read_manifest
from savbench.data._sample import Sample
from savbench.tasks import HFSource, LoadedTask


@dataclass(frozen=True)
class TaskData:
    """The samples of one task and the identity of the data they came from.

    Args:
        samples: Samples in source order.
        source_id: Content identity of the data (manifest sha256 or dataset fingerprint);
            part of the prediction fingerprint so changed data never reuses old predictions.
        media_root: The folder media paths were resolved against (manifest sources only).
    """

    samples: list[Sample]
    source_id: str
    media_root: Path | None = None


def manifest_paths(task: LoadedTask, media_root: str | Path | None = None) -> tuple[Path, Path]:
    """The manifest file and media root a manifest task uses (``media_root`` overrides the YAML)."""
    source = task.spec.source
    if isinstance(source, HFSource):
        raise TypeError(f"task {task.name} reads a Hugging Face dataset, not a manifest")
    manifest = task.resolve(source.path)
    if media_root is not None:
        root = Path(media_root).expanduser()
    elif source.media_root is not None:
        root = task.resolve(source.media_root)
    else:
        root = manifest.parent
    return manifest, root


def load_task_data(task: LoadedTask, media_root: str | Path | None = None) -> TaskData:
    """Read a task's samples.

    Args:
        task: The loaded task spec.
        media_root: Overrides the YAML's ``source.media_root`` (``--media-root TASK=DIR``).

    Raises:
        SpecError: The data is missing or malformed (file, field and reason in the message).
    """
    source = task.spec.source
    if isinstance(source, HFSource):
        from savbench.data._hf import read_hf_dataset

        samples, source_id = read_hf_dataset(source, task=task.name, spec_path=task.path)
        return TaskData(samples=samples, source_id=source_id)
    manifest, root = manifest_paths(task, media_root)
    if not manifest.is_file():
        raise SpecError(
            task.path,
            "source.path",
            f"manifest {manifest} not found; prepare it with `savbench data prepare {task.name} "
            f"--annotations PATH --media-root DIR` (see `savbench data prepare --help`)",
        )
    if not root.is_dir():
        raise SpecError(
            task.path,
            "source.media_root",
            f"media folder {root} not found (use --media-root {task.name}=DIR)",
        )
    samples = read_manifest(manifest, task=task.name, media_root=root)
    return TaskData(samples=samples, source_id=f"sha256:{file_digest(manifest)}", media_root=root)


def data_present(task: LoadedTask) -> bool:
    """Whether the task's data can be read locally without a download."""
    source = task.spec.source
    if isinstance(source, HFSource):
        local = Path(source.dataset).expanduser()
        if local.is_dir():
            return True
        # No network: look for the dataset in the local datasets cache only.
        import datasets

        cached = Path(datasets.config.HF_DATASETS_CACHE) / source.dataset.replace("/", "___")
        return cached.is_dir()
    manifest, root = manifest_paths(task)
    return manifest.is_file() and root.is_dir()
