"""The model-facing interface: requests in, answers out."""

from savbench.adapters._base import MODALITIES, Adapter, SampleFailure
from savbench.adapters._registry import (
    ENTRY_POINT_GROUP,
    adapter_names,
    adapter_targets,
    build_adapter,
    get_adapter_class,
    register_adapter,
)
from savbench.adapters._request import GenerationSettings, Request

__all__ = [
    "ENTRY_POINT_GROUP",
    "MODALITIES",
    "Adapter",
    "GenerationSettings",
    "Request",
    "SampleFailure",
    "adapter_names",
    "adapter_targets",
    "build_adapter",
    "get_adapter_class",
    "register_adapter",
]
