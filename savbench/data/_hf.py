"""Hugging Face datasets as a sample source.

Media columns are read undecoded (``decode=False``) so that savbench's own decoders handle them
in worker processes, with the same error reporting as local files. Loading honours
``HF_DATASETS_OFFLINE=1`` and the local cache: nothing is downloaded unless the user allows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from savbench._errors import SpecError
from savbench.data._sample import MediaRef, Sample
from savbench.tasks import HFSource

MEDIA_COLUMNS = ("audio", "video", "image")


def _open_dataset(source: HFSource) -> Any:
    import datasets

    local = Path(source.dataset).expanduser()
    if local.is_dir() and (local / "dataset_info.json").exists():
        dataset = datasets.load_from_disk(str(local))
        if isinstance(dataset, datasets.DatasetDict):
            dataset = dataset[source.split]
        return dataset
    return datasets.load_dataset(source.dataset, source.config, split=source.split, revision=source.revision)


def _media_ref(value: Any, label: str) -> MediaRef | None:
    if value is None:
        return None
    if isinstance(value, str):
        return MediaRef(path=value, label=label)
    if isinstance(value, dict):
        data = value.get("bytes")
        path = value.get("path")
        if data:
            return MediaRef(data=bytes(data), label=f"{label} ({path})" if path else label)
        if path:
            return MediaRef(path=str(path), label=label)
    raise TypeError(f"cannot read media from a value of type {type(value).__name__}")


def _choices(row: dict[str, Any], source: HFSource) -> tuple[str, ...]:
    if "choices" in source.columns:
        columns = [c.strip() for c in source.columns["choices"].split(",")]
        if len(columns) == 1:
            return tuple(str(c) for c in row[columns[0]])
        return tuple(str(row[c]) for c in columns if row[c] not in (None, ""))
    constant = source.constants.get("choices", [])
    return tuple(constant) if isinstance(constant, list) else ()


def read_hf_dataset(source: HFSource, *, task: str, spec_path: Path) -> tuple[list[Sample], str]:
    """Load samples from a Hugging Face dataset.

    Returns:
        The samples and an identifier of the exact data (the dataset's fingerprint).

    Raises:
        SpecError: The dataset cannot be loaded or a mapped column is missing.
    """
    try:
        import datasets

        dataset = _open_dataset(source)
    except Exception as exc:  # datasets raises many types; the user needs the message
        raise SpecError(spec_path, "source.dataset", f"cannot load {source.dataset!r}: {exc}") from None
    mapped = [
        c.strip()
        for field, cols in source.columns.items()
        for c in (cols.split(",") if field == "choices" else [cols])
    ]
    missing = sorted(col for col in mapped if col not in dataset.column_names)
    if missing:
        raise SpecError(
            spec_path,
            "source.columns",
            f"column(s) {missing} not in {source.dataset}; it has {dataset.column_names}",
        )
    for field in MEDIA_COLUMNS:
        column = source.columns.get(field)
        feature = dataset.features.get(column) if column else None
        if feature is not None and hasattr(feature, "decode"):
            dataset = dataset.cast_column(column, type(feature)(decode=False))
    samples: list[Sample] = []
    seen: set[str] = set()
    for index, row in enumerate(dataset):
        label = f"{source.dataset}[{source.split}][{index}]"
        sample_id = str(row[source.columns["id"]]) if "id" in source.columns else str(index)
        if sample_id in seen:
            raise SpecError(spec_path, "source.columns.id", f"duplicate id {sample_id!r} in {label}")
        seen.add(sample_id)
        refs = row[source.columns["references"]]
        refs = [refs] if isinstance(refs, str) else list(refs)
        try:
            media = {
                f: _media_ref(row[source.columns[f]], label) if f in source.columns else None
                for f in MEDIA_COLUMNS
            }
        except TypeError as exc:
            raise SpecError(spec_path, "source.columns", f"{label}: {exc}") from None
        samples.append(
            Sample(
                id=sample_id,
                task=task,
                audio=media["audio"],
                video=media["video"],
                image=media["image"],
                question=str(row[source.columns["question"]])
                if "question" in source.columns
                else str(source.constants.get("question", "")),
                choices=_choices(row, source),
                references=tuple(str(r) for r in refs),
                cluster=str(row[source.columns["cluster"]]) if "cluster" in source.columns else None,
            )
        )
    if not samples:
        raise SpecError(spec_path, "source", f"{source.dataset} split {source.split!r} holds no samples")
    fingerprint = getattr(dataset, "_fingerprint", None) or datasets.__version__
    return samples, f"hf:{source.dataset}:{source.config}:{source.split}:{source.revision}:{fingerprint}"
