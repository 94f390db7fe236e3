"""Adapter registry: built-in adapters by name, third-party ones through entry points.

Built-ins are listed as import strings so that listing models imports no model code (and no
torch). Another package adds an adapter with an entry point in the ``savbench.adapters`` group:

    [project.entry-points."savbench.adapters"]
    my-model = "my_package.adapter:MyAdapter"

Without packaging, ``SAVBENCH_ADAPTERS="my-model=my_module:MyAdapter,..."`` does the same for
modules on the Python path.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from importlib.metadata import entry_points

from savbench.adapters._base import Adapter

ENTRY_POINT_GROUP = "savbench.adapters"
ADAPTERS_ENV = "SAVBENCH_ADAPTERS"

_BUILTIN: dict[str, str] = {
    "chance": "model_adapters.baselines:ChanceAdapter",
    "oracle": "model_adapters.baselines:OracleAdapter",
    "constant": "model_adapters.baselines:ConstantAdapter",
    "openai": "model_adapters.openai_compat:OpenAICompatibleAdapter",
    "video-salmonn": "model_adapters.video_salmonn:VideoSalmonnAdapter",
    "favor": "model_adapters.video_salmonn:FavorAdapter",
    "video-salmonn-tiny": "model_adapters.video_salmonn:VideoSalmonnTinyAdapter",
    "qwen2.5-omni": "model_adapters.qwen_omni:QwenOmniAdapter",
    "qwen2-audio": "model_adapters.qwen2_audio:Qwen2AudioAdapter",
    "whisper": "model_adapters.whisper:WhisperAdapter",
    "llava-onevision": "model_adapters.llava_onevision:LlavaOnevisionAdapter",
    "instructblip": "model_adapters.instructblip:InstructBlipAdapter",
    "lmms": "model_adapters.lmms_bridge:LmmsEvalAdapter",
}
_REGISTERED: dict[str, type[Adapter]] = {}


def register_adapter(name: str) -> Callable[[type[Adapter]], type[Adapter]]:
    """Class decorator that registers an adapter under ``name`` at import time."""

    def decorate(cls: type[Adapter]) -> type[Adapter]:
        cls.name = name
        _REGISTERED[name] = cls
        return cls

    return decorate


def _import_target(target: str) -> type[Adapter]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise TypeError(f"{target} is not a savbench Adapter subclass")
    return cls


def adapter_targets() -> dict[str, str]:
    """Every known adapter name mapped to its import target, built-ins first."""
    targets = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    for item in os.environ.get(ADAPTERS_ENV, "").split(","):
        name, sep, target = item.partition("=")
        if sep and name.strip() and ":" in target:
            targets.setdefault(name.strip(), target.strip())
    return targets


def adapter_names() -> list[str]:
    names = set(adapter_targets()) | set(_REGISTERED)
    return sorted(names)


def get_adapter_class(name: str) -> type[Adapter]:
    """Resolve an adapter name (``lmms:NAME`` goes to the lmms-eval bridge).

    Raises:
        KeyError: Unknown name, with the list of known ones.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    lookup = "lmms" if name.startswith("lmms:") else name
    targets = adapter_targets()
    if lookup not in targets:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(adapter_names())}")
    cls = _import_target(targets[lookup])
    _REGISTERED.setdefault(lookup, cls)
    return cls


def build_adapter(name: str, model_args: dict[str, str] | None = None) -> Adapter:
    """Instantiate an adapter by name with its model arguments."""
    cls = get_adapter_class(name)
    args = dict(model_args or {})
    if name.startswith("lmms:"):
        args["lmms_model"] = name.split(":", 1)[1]
    return cls(**args)
