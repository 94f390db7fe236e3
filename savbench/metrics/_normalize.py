"""Text normalisers, registered by name and named from task YAML as ``normalizer: NAME``.

A normaliser maps raw text to normalised text; word-level metrics split its output on
whitespace. The Whisper normalisers come from the ``whisper_normalizer`` package (which ships
the British-to-American spelling table); ``whisper_en`` restores the rule set of OpenAI's
original English normaliser, which is also the copy lmms-eval vendors (see
:data:`PACKAGE_ONLY_CONTRACTIONS`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

Normalizer = Callable[[str], str]


@dataclass(frozen=True)
class _Entry:
    fn: Normalizer
    description: str


_NORMALIZERS: dict[str, _Entry] = {}


def register_normalizer(name: str, description: str) -> Callable[[Normalizer], Normalizer]:
    """Decorator that registers a text normaliser under ``name``.

    Args:
        name: Name used from task YAML (``normalizer: NAME``).
        description: One sentence saying what it does; copied into metric definitions.
    """

    def decorate(fn: Normalizer) -> Normalizer:
        if name in _NORMALIZERS and _NORMALIZERS[name].fn is not fn:
            raise ValueError(f"normalizer {name!r} is already registered")
        _NORMALIZERS[name] = _Entry(fn, description)
        return fn

    return decorate


def normalizer_names() -> list[str]:
    """Names of every registered normaliser."""
    return sorted(_NORMALIZERS)


def get_normalizer(name: str) -> Normalizer:
    """The normaliser registered under ``name``.

    Args:
        name: Registered name.

    Raises:
        ValueError: When no normaliser of that name exists (the message lists the known ones).
    """
    try:
        return _NORMALIZERS[name].fn
    except KeyError:
        raise ValueError(f"unknown normalizer {name!r}; known: {', '.join(normalizer_names())}") from None


def describe_normalizer(name: str) -> str:
    """The registered description of a normaliser (for metric definitions)."""
    get_normalizer(name)
    return _NORMALIZERS[name].description


# --- lmms-eval's LibriSpeech pre- and post-processing --------------------------------------

_SPECIAL_TOKEN = re.compile(r"<\|.*?\|>")
_WHITESPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" ?([!,.?;:])")


def remove_special_tokens(text: str) -> str:
    """Replace ``<|...|>`` tokens by a space, collapse whitespace, drop spaces before ``!,.?;:``
    and strip leading spaces (lmms-eval's ``remove_sp`` for English)."""
    text = _SPECIAL_TOKEN.sub(" ", text)
    text = _WHITESPACE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.lstrip(" ")


def drop_punctuation_tokens(text: str) -> str:
    """Split on single spaces, drop every token made only of Unicode punctuation (empty tokens
    included), re-join and lowercase: lmms-eval's evaluation tokenizer with ``tokenizer_type=none,
    punctuation_removal=True, lowercase=True``."""
    kept = [tok for tok in text.split(" ") if not all(unicodedata.category(c).startswith("P") for c in tok)]
    return " ".join(kept).lower()


# --- Whisper normalisers ------------------------------------------------------------------

# Contraction rules that whisper_normalizer 0.1.x adds to OpenAI's English normaliser. lmms-eval
# (and OpenAI's whisper) do not have them; with them "cause" becomes "because" and
# "kinda" becomes "kind of", which moves WER against lmms-eval.
PACKAGE_ONLY_CONTRACTIONS = (r"\bkinda\b", r"\bsorta\b", r"\bdunno\b", r"\bcause\b")


@lru_cache(maxsize=1)
def _basic() -> Normalizer:
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


@lru_cache(maxsize=1)
def _english() -> Normalizer:
    from whisper_normalizer.english import EnglishTextNormalizer

    normalizer = EnglishTextNormalizer()
    normalizer.replacers = {
        pattern: repl
        for pattern, repl in normalizer.replacers.items()
        if pattern not in PACKAGE_ONLY_CONTRACTIONS
    }
    return normalizer


@register_normalizer("none", "identity: the text is used as it is")
def _none(text: str) -> str:
    return text


@register_normalizer(
    "basic",
    "Whisper BasicTextNormalizer (whisper_normalizer package): lowercase, drop [..] <..> (..) spans, "
    "symbols and punctuation to spaces, collapse whitespace",
)
def basic(text: str) -> str:
    """Whisper's language-independent normaliser."""
    return _basic()(text)


@register_normalizer(
    "whisper_en",
    "Whisper EnglishTextNormalizer with OpenAI's original rule set (whisper_normalizer package, its "
    "extra kinda/sorta/dunno/cause rules removed): contractions, numbers, British->American spellings",
)
def whisper_en(text: str) -> str:
    """Whisper's English normaliser, as OpenAI and lmms-eval ship it."""
    return _english()(text)


@register_normalizer(
    "whisper_en+basic",
    "lmms-eval LibriSpeech chain: remove <|..|> tokens and spaces before !,.?;: -> Whisper "
    "EnglishTextNormalizer -> Whisper BasicTextNormalizer -> drop all-punctuation tokens, lowercase "
    "-> whitespace split",
)
def whisper_en_basic(text: str) -> str:
    """The normalisation lmms-eval applies before LibriSpeech WER; words are joined by single spaces."""
    text = drop_punctuation_tokens(basic(whisper_en(remove_special_tokens(text))))
    return " ".join(text.split())


@register_normalizer("lower", "lowercase, strip, collapse whitespace")
def lower(text: str) -> str:
    """Case- and spacing-insensitive form of a short answer."""
    return " ".join(text.lower().split())


@register_normalizer(
    "lower_punct",
    "lowercase, Unicode punctuation and symbols to spaces, collapse whitespace",
)
def lower_punct(text: str) -> str:
    """Short answer without case, punctuation or extra spaces (GQA-style exact match)."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text.lower())
    return " ".join(cleaned.split())


@register_normalizer(
    "vqa",
    "VQA answer processing: lowercase, punctuation rules of the VQA evaluation, number words "
    "zero..ten to digits, articles a/an/the dropped (the contraction table is not applied)",
)
def vqa(text: str) -> str:
    """Answer processing of the standard VQA / TextVQA evaluation (without its contraction table)."""
    return _vqa_answer(text)


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    )
}
_NUMBER_WORDS["none"] = "0"
_ARTICLES = frozenset({"a", "an", "the"})
_VQA_PUNCT = ';/[]"{}()=+\\_-><@`,?!'
_PERIOD = re.compile(r"\.(?!\d)")


def _vqa_answer(text: str) -> str:
    text = text.lower().replace("\n", " ").replace("\t", " ")
    text = text.replace(",", "").replace("?", "").replace("'s", " 's").strip()
    # A mark that touches a space somewhere in the answer is deleted everywhere; otherwise it
    # becomes a space ("black-and-white" splits, "x - y" leaves no "-"). The test looks at the
    # answer as it was before any mark was removed.
    original = text
    for p in _VQA_PUNCT:
        delete = (p + " ") in original or (" " + p) in original
        text = text.replace(p, "" if delete else " ")
    text = _PERIOD.sub("", text)
    words = [_NUMBER_WORDS.get(w, w) for w in text.split()]
    return " ".join(w for w in words if w not in _ARTICLES)
