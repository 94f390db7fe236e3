"""Reading a judge's reply: JSON first, then a strict fallback on plain words or numbers."""

from __future__ import annotations

import json
import re

from savbench.judge._templates import JudgeTemplate

_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.DOTALL)


class UnparsableVerdict(ValueError):
    """The reply holds no verdict savbench can trust; the sample gets an error, not a zero."""


def _json_field(reply: str, key: str) -> object | None:
    for match in _JSON_OBJECT.finditer(reply):
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and key in data:
            return data[key]
    return None


def parse_verdict(template: JudgeTemplate, reply: str) -> float:
    """The score (0-100) a reply gives.

    Raises:
        UnparsableVerdict: No verdict, an ambiguous one, or a rating out of range.
    """
    if template.kind == "correctness":
        value = _json_field(reply, "verdict")
        if isinstance(value, str):
            word = value.strip().lower()
        else:
            words = set(re.findall(r"\b(correct|incorrect)\b", reply.lower()))
            if len(words) != 1:
                raise UnparsableVerdict(f"no single correct/incorrect verdict in {reply[:120]!r}")
            word = words.pop()
        if word not in ("correct", "incorrect"):
            raise UnparsableVerdict(f"verdict {word!r} is neither correct nor incorrect")
        return 100.0 if word == "correct" else 0.0
    low, high = template.scale
    value = _json_field(reply, "rating")
    if value is None:
        numbers = re.findall(r"(?<![\d.])-?\d+(?:\.\d+)?(?![\d.])", reply)
        if len(numbers) != 1:
            raise UnparsableVerdict(f"no single rating in {reply[:120]!r}")
        value = numbers[0]
    try:
        rating = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UnparsableVerdict(f"rating {value!r} is not a number") from None
    if not low <= rating <= high:
        raise UnparsableVerdict(f"rating {rating:g} outside {low}-{high}")
    return (rating - low) / (high - low) * 100.0
