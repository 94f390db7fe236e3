"""Judge prompt templates, referenced from task YAML by registered name.

Each template says what the judge is asked and how its reply is read: a correct/incorrect
verdict (score 100 or 0) or an integer rating on a fixed scale (mapped to 0-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class JudgeTemplate:
    """A judge prompt.

    Args:
        name: Registered name.
        kind: ``correctness`` (verdict correct/incorrect) or ``rating``.
        system: System message.
        user: User message with ``{question}``, ``{reference}`` and ``{prediction}``.
        scale: (low, high) of the rating, for ``rating`` templates.
    """

    name: str
    kind: Literal["correctness", "rating"]
    system: str
    user: str
    scale: tuple[int, int] = (0, 1)
    version: int = 1


_TEMPLATES: dict[str, JudgeTemplate] = {}


def register_template(template: JudgeTemplate) -> JudgeTemplate:
    _TEMPLATES[template.name] = template
    return template


def template_names() -> list[str]:
    return sorted(_TEMPLATES)


def get_template(name: str) -> JudgeTemplate:
    if name not in _TEMPLATES:
        raise KeyError(f"unknown judge template {name!r}; known: {', '.join(template_names())}")
    return _TEMPLATES[name]


register_template(
    JudgeTemplate(
        name="qa_correctness",
        kind="correctness",
        system=(
            "You grade answers to questions about audio, video and images. You see the question, "
            "a reference answer written by a person, and a model's answer. The model's answer is "
            "correct when it conveys the same meaning as the reference; wording, length and extra "
            "detail that does not contradict the reference do not matter."
        ),
        user=(
            "Question: {question}\nReference answer: {reference}\nModel answer: {prediction}\n\n"
            'Reply with JSON only: {{"verdict": "correct"}} or {{"verdict": "incorrect"}}.'
        ),
    )
)

register_template(
    JudgeTemplate(
        name="qa_rating_0_5",
        kind="rating",
        system=(
            "You rate answers to questions about audio, video and images against a reference "
            "answer written by a person. 5 means the answer matches the reference in meaning, "
            "0 means it is unrelated or contradicts it."
        ),
        user=(
            "Question: {question}\nReference answer: {reference}\nModel answer: {prediction}\n\n"
            'Reply with JSON only: {{"rating": N}} where N is an integer from 0 to 5.'
        ),
        scale=(0, 5),
    )
)

register_template(
    JudgeTemplate(
        name="sound_source_correctness",
        kind="correctness",
        system=(
            "You grade answers that name the source of a sound in a video. The model's answer is "
            "correct when it names the same sound source or event as the reference, even in other "
            "words; naming a different source, or several sources without committing to the right "
            "one, is incorrect."
        ),
        user=(
            "Question: {question}\nReference answer: {reference}\nModel answer: {prediction}\n\n"
            'Reply with JSON only: {{"verdict": "correct"}} or {{"verdict": "incorrect"}}.'
        ),
    )
)
