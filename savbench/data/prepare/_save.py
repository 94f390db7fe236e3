"""Converters for the SAVE benchmark annotation files as released with video-SALMONN.

Ids are built from the media file name plus the item's position, so they are unique and stable
for a given annotation file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from savbench._errors import SpecError
from savbench.data.prepare._registry import field, media_pair, register_converter, stem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _choices(item: Any, path: Path, index: int) -> tuple[list[str], str]:
    choices = field(item, "answer_candidates", list, path, index)
    answer = field(item, "answer", str, path, index)
    if not all(isinstance(c, str) for c in choices) or len(set(choices)) != len(choices):
        raise SpecError(path, f"item {index}.answer_candidates", "expected distinct strings")
    if answer not in choices:
        raise SpecError(path, f"item {index}.answer", f"{answer!r} is not one of the answer_candidates")
    return choices, answer


@register_converter("save_nextqa")
def nextqa(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        video = field(item, "image", str, path, i)
        choices, answer = _choices(item, path, i)
        rows.append(
            {"id": f"{i:05d}-{stem(video)}", "video": video, "question": field(item, "question", str, path, i),
             "choices": choices, "references": [answer], "cluster": video}
        )  # fmt: skip
    return rows


def _av_mc(items: list[Any], path: Path, *, keep_duration: bool) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        video, audio = media_pair(item, "image_name", path, i)
        choices, answer = _choices(item, path, i)
        row = {
            "id": f"{i:05d}-{stem(video)}",
            "video": video,
            "audio": audio,
            "question": field(item, "question", str, path, i),
            "choices": choices,
            "references": [answer],
            "cluster": video,
        }
        if keep_duration and "duration" in item:
            row["meta"] = {"source_span_s": item["duration"]}
        rows.append(row)
    return rows


@register_converter("save_ego4d_avqa")
def ego4d(items: list[Any], path: Path) -> list[dict[str, Any]]:
    return _av_mc(items, path, keep_duration=True)


@register_converter("save_presentation_avqa")
def presentation(items: list[Any], path: Path) -> list[dict[str, Any]]:
    return _av_mc(items, path, keep_duration=False)


@register_converter("save_how2_avsr")
def how2(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        video, audio = media_pair(item, "image", path, i)
        rows.append(
            {"id": f"{i:05d}-{stem(video)}", "video": video, "audio": audio,
             "question": field(item, "question", str, path, i), "references": [field(item, "answer", str, path, i)]}
        )  # fmt: skip
    return rows


@register_converter("save_avssd")
def avssd(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        video, audio = media_pair(item, "image", path, i)
        rows.append(
            {"id": f"{i:05d}-{stem(video)}", "video": video, "audio": audio,
             "question": field(item, "question", str, path, i), "references": [field(item, "answer", str, path, i)],
             "cluster": video}
        )  # fmt: skip
    return rows


@register_converter("save_avm")
def avm(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        visual, audio = media_pair(item, "image", path, i)
        answer = field(item, "answer", str, path, i).strip().rstrip(".").lower()
        if answer not in ("yes", "no"):
            raise SpecError(path, f"item {i}.answer", f"expected Yes or No, found {item['answer']!r}")
        kind = "image" if visual.lower().endswith(IMAGE_SUFFIXES) else "video"
        source = "spokencoco" if "spokencoco" in audio.lower() else "vggss"
        row = {
            "id": f"{i:05d}-{stem(visual)}",
            kind: visual,
            "audio": audio,
            "question": field(item, "question", str, path, i),
            "references": [answer],
            "meta": {"source": source, "visual": kind, "description": item.get("text")},
        }
        rows.append(row)
    return rows


@register_converter("save_avsd")
def avsd(items: list[Any], path: Path) -> list[dict[str, Any]]:
    """Each dialogue becomes one sample: the earlier turns as history, the last question asked,
    the last answer as the reference."""
    rows = []
    for i, item in enumerate(items):
        video, audio = media_pair(item, "image_name", path, i)
        turns = field(item, "conversation", list, path, i)
        if not turns or not all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in turns
        ):
            raise SpecError(
                path, f"item {i}.conversation", "expected a non-empty list of [question, answer] pairs"
            )
        history = "\n".join(f"Q: {q}\nA: {a}" for q, a in turns[:-1])
        question = turns[-1][0] if not history else f"{history}\nQ: {turns[-1][0]}"
        rows.append(
            {"id": f"{i:05d}-{stem(video)}", "video": video, "audio": audio, "question": question,
             "references": [turns[-1][1]], "cluster": video, "meta": {"turns": len(turns)}}
        )  # fmt: skip
    return rows


@register_converter("save_flickr30k")
def flickr30k(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        image = field(item, "image", str, path, i)
        captions = field(item, "answer", list, path, i)
        if not captions or not all(isinstance(c, str) for c in captions):
            raise SpecError(path, f"item {i}.answer", "expected a non-empty list of captions")
        rows.append({"id": f"{i:05d}-{stem(image)}", "image": image, "question": field(item, "question", str, path, i),
                     "references": captions})  # fmt: skip
    return rows


@register_converter("save_textvqa")
def textvqa(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        image = field(item, "image", str, path, i)
        answers = field(item, "answer", list, path, i)
        if not answers or not all(isinstance(a, str) for a in answers):
            raise SpecError(path, f"item {i}.answer", "expected a non-empty list of human answers")
        rows.append({"id": f"{i:05d}-{stem(image)}", "image": image, "question": field(item, "question", str, path, i),
                     "references": answers, "cluster": image})  # fmt: skip
    return rows


@register_converter("save_gqa")
def gqa(items: list[Any], path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items):
        image = field(item, "image", str, path, i)
        row = {"id": f"{i:05d}-{stem(image)}", "image": image, "question": field(item, "question", str, path, i),
               "references": [field(item, "answer", str, path, i)], "cluster": image}  # fmt: skip
        if isinstance(item.get("fullanswer"), str):
            row["meta"] = {"full_answer": item["fullanswer"]}
        rows.append(row)
    return rows
