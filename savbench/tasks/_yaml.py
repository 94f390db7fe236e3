"""YAML reading that never constructs Python objects and reports errors with file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from savbench._errors import SpecError


class _BadScalar(yaml.constructor.ConstructorError):
    """A value the safe loader understood the type of but could not build (e.g. 2001-02-30)."""


class _Loader(yaml.SafeLoader):
    """The safe loader, with a value that cannot be built reported at its line like any YAML
    error (PyYAML raises a bare ValueError or TypeError there)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            value = node.value if isinstance(node, yaml.ScalarNode) else f"a {node.id}"
            why = "not in its format" if isinstance(exc, AttributeError) else str(exc)
            raise _BadScalar(None, None, f"cannot read {value!r} as {tag}: {why}", node.start_mark) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping with the safe loader.

    Tags such as ``!function`` or ``!!python/object`` are refused: task files are data.

    Raises:
        SpecError: Unreadable file, invalid UTF-8, invalid YAML, a tag, or a top level that is
            not a mapping.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(path, "", f"not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain data only
    except _BadScalar as exc:
        mark = exc.problem_mark
        raise SpecError(path, f"line {mark.line + 1}" if mark else "", str(exc.problem)) from None
    except RecursionError:
        raise SpecError(path, "", "invalid YAML: nested too deeply") from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise SpecError(
            path, where, f"{exc.problem}; task files are data and cannot name code (use registered names)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(path, where, f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(path, "", f"expected a mapping at the top level, found {type(data).__name__}")
    return data
