"""Prompt rendering: a task's template plus a sample's question and choices.

Templates use ``{question}``, ``{choices}`` and ``{choice_letters}``. How ``{choices}`` looks is a
registered choice format, named from YAML as ``choice_format``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence

PLACEHOLDERS = frozenset({"question", "choices", "choice_letters"})
LETTERS = string.ascii_uppercase

_CHOICE_FORMATS: dict[str, Callable[[Sequence[str]], str]] = {}


def register_choice_format(
    name: str,
) -> Callable[[Callable[[Sequence[str]], str]], Callable[[Sequence[str]], str]]:
    """Register a function that renders answer options as text."""

    def decorate(fn: Callable[[Sequence[str]], str]) -> Callable[[Sequence[str]], str]:
        _CHOICE_FORMATS[name] = fn
        return fn

    return decorate


@register_choice_format("lettered")
def _lettered(choices: Sequence[str]) -> str:
    return "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))


@register_choice_format("lettered_dot")
def _lettered_dot(choices: Sequence[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))


@register_choice_format("numbered")
def _numbered(choices: Sequence[str]) -> str:
    return "\n".join(f"{i + 1}. {c}" for i, c in enumerate(choices))


@register_choice_format("inline")
def _inline(choices: Sequence[str]) -> str:
    return ", ".join(choices)


def choice_format_names() -> list[str]:
    return sorted(_CHOICE_FORMATS)


def template_fields(template: str) -> set[str]:
    """Placeholders used by a template.

    Raises:
        ValueError: Malformed braces or a placeholder savbench does not provide.
    """
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = sorted(f for f in fields if f not in PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + f + '}' for f in unknown)}; "
            f"available: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}"
        )
    return fields


def render_prompt(template: str, *, question: str, choices: Sequence[str], choice_format: str) -> str:
    """Fill a template for one sample.

    Args:
        template: The task's (or the model's override) prompt template.
        question: The sample's question text.
        choices: The sample's answer options (may be empty).
        choice_format: Registered name of the options renderer.
    """
    if len(choices) > len(LETTERS):
        raise ValueError(f"{len(choices)} choices; at most {len(LETTERS)} can be lettered")
    render = _CHOICE_FORMATS[choice_format]
    letters = [LETTERS[i] for i in range(len(choices))]
    if len(letters) > 1:
        letter_text = ", ".join(letters[:-1]) + " or " + letters[-1]
    else:
        letter_text = "".join(letters)
    return template.format(
        question=question, choices=render(choices) if choices else "", choice_letters=letter_text
    ).strip()
