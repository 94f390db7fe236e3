"""Samples and where they come from: local JSONL manifests or Hugging Face datasets."""

from savbench.data._load import TaskData, data_present, load_task_data, manifest_paths
from savbench.data._manifest import file_digest, read_manifest, resolve_media_path
from savbench.data._sample import MediaRef, Sample

__all__ = [
    "MediaRef",
    "Sample",
    "TaskData",
    "data_present",
    "file_digest",
    "load_task_data",
    "manifest_paths",
    "read_manifest",
    "resolve_media_path",
]
