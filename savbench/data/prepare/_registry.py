"""Converters from released annotation files to savbench manifest rows.

A converter reads the annotation file's items and returns manifest rows whose media paths are
still the paths written in the annotations; :func:`savbench.data.prepare.prepare_task` then
finds those files under the user's media folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from savbench._errors import SpecError

Converter = Callable[[list[Any], Path], list[dict[str, Any]]]
_CONVERTERS: dict[str, Converter] = {}


def register_converter(name: str) -> Callable[[Converter], Converter]:
    def decorate(fn: Converter) -> Converter:
        _CONVERTERS[name] = fn
        return fn

    return decorate


def converter_names() -> list[str]:
    return sorted(_CONVERTERS)


def get_converter(name: str) -> Converter:
    if name not in _CONVERTERS:
        raise KeyError(f"unknown converter {name!r}; known: {', '.join(converter_names())}")
    return _CONVERTERS[name]


def field(item: Any, key: str, kind: type | tuple[type, ...], path: Path, index: int) -> Any:
    """``item[key]`` checked for type; errors name the annotation file, item and field."""
    if not isinstance(item, dict):
        raise SpecError(path, f"item {index}", f"expected an object, found {type(item).__name__}")
    if key not in item:
        raise SpecError(path, f"item {index}.{key}", "missing")
    value = item[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(path, f"item {index}.{key}", f"expected {names}, found {type(value).__name__}")
    return value


def media_pair(item: Any, key: str, path: Path, index: int) -> tuple[str, str]:
    """A [visual, audio] pair of paths, as several SAVE files store them."""
    value = field(item, key, list, path, index)
    if len(value) != 2 or not all(isinstance(v, str) and v for v in value):
        raise SpecError(path, f"item {index}.{key}", "expected [visual path, audio path]")
    return value[0], value[1]


def stem(media_path: str) -> str:
    return Path(media_path).stem
