"""Answer parsers: pull the answer out of free model output.

Parsers are registered by name and named from task YAML as ``parser: NAME``. Every parser maps
``(text, choices)`` to a canonical answer string, or ``None`` when no answer can be extracted;
metrics count such samples as wrong and report them as ``unparsed``. The same parser turns a
reference into its canonical form (:meth:`Parser.reference`), so prediction and reference are
compared on equal terms.
"""

from __future__ import annotations

import difflib
import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ParseFn = Callable[[str, Sequence[str]], "str | None"]


@dataclass(frozen=True)
class Parser:
    """A registered answer parser.

    Args:
        name: Registered name.
        parse: ``(model output, choices) -> canonical answer or None``.
        reference_fn: ``(reference, choices) -> canonical answer or None``; defaults to ``parse``.
        description: What it extracts; copied into metric definitions.
    """

    name: str
    parse: ParseFn
    reference_fn: ParseFn | None
    description: str

    def __call__(self, text: str, choices: Sequence[str] = ()) -> str | None:
        return self.parse(text, choices)

    def reference(self, text: str, choices: Sequence[str] = ()) -> str | None:
        """Canonical form of a reference answer."""
        return (self.reference_fn or self.parse)(text, choices)


_PARSERS: dict[str, Parser] = {}


def register_parser(
    name: str, description: str, *, reference: ParseFn | None = None
) -> Callable[[ParseFn], ParseFn]:
    """Decorator that registers an answer parser.

    Args:
        name: Name used from task YAML (``parser: NAME``).
        description: One sentence saying what the parser extracts.
        reference: How a reference is canonicalised, when that differs from parsing model output.
    """

    def decorate(fn: ParseFn) -> ParseFn:
        if name in _PARSERS and _PARSERS[name].parse is not fn:
            raise ValueError(f"parser {name!r} is already registered")
        _PARSERS[name] = Parser(name=name, parse=fn, reference_fn=reference, description=description)
        return fn

    return decorate


def parser_names() -> list[str]:
    """Names of every registered answer parser."""
    return sorted(_PARSERS)


def get_parser(name: str) -> Parser:
    """The parser registered under ``name``.

    Args:
        name: Registered name.

    Raises:
        ValueError: When no parser of that name exists (the message lists the known ones).
    """
    try:
        return _PARSERS[name]
    except KeyError:
        raise ValueError(f"unknown parser {name!r}; known: {', '.join(parser_names())}") from None


# --- free-text cleaners -------------------------------------------------------------------


@register_parser("none", "the raw output, unchanged (never unparsed)")
def _identity(text: str, choices: Sequence[str] = ()) -> str | None:
    return text


@register_parser("strip", "the output without surrounding whitespace; None when empty")
def strip_answer(text: str, choices: Sequence[str] = ()) -> str | None:
    """The output stripped of surrounding whitespace, or None when nothing is left."""
    text = text.strip()
    return text or None


@register_parser("first_line", "the first non-empty line, stripped; None when there is none")
def first_line(text: str, choices: Sequence[str] = ()) -> str | None:
    """The first non-empty line of the output, or None."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


# --- yes / no -----------------------------------------------------------------------------

_YES_NO_WORD = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")


@register_parser(
    "yes_no",
    "'yes' or 'no': the first word when it is yes/no, else the only one of the two that occurs; "
    "None when neither or both occur",
)
def yes_no(text: str, choices: Sequence[str] = ()) -> str | None:
    """Extract a yes/no answer.

    The first word decides when it is ``yes`` or ``no`` ("No, it does not match" is ``no``).
    Otherwise the answer is the one of the two words that occurs; when both occur later in the
    text ("It is not a yes or no question") the output is ambiguous and None is returned.

    Args:
        text: Model output.
        choices: Ignored.
    """
    first = _FIRST_WORD.search(text)
    if first is not None and first.group(0).lower() in ("yes", "no"):
        return first.group(0).lower()
    found = {m.group(1).lower() for m in _YES_NO_WORD.finditer(text)}
    return found.pop() if len(found) == 1 else None


# --- multiple choice ----------------------------------------------------------------------

LETTERS = string.ascii_uppercase

# "Answer: B", "the answer is (c)", "Option B", "correct choice: b)"
_MARKED = re.compile(
    r"\b(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be))?\s*(?:[:\-]\s*)?"
    r"(?:(?:option|choice|letter)\s*)?(?P<open>[(\[])?(?P<sym>[A-Za-z]|\d{1,2})(?![A-Za-z0-9'])",
    re.IGNORECASE,
)
# The whole output is an option symbol: "B", "(b)", "B.", "[2]"
_WHOLE = re.compile(r"^[(\[]?(?P<sym>[A-Za-z]|\d{1,2})[)\]]?[.:]?$")
# The output starts with an option symbol and a delimiter: "B. dog", "(B) dog", "2) dog"
_LEADING = re.compile(r"^(?:[(\[](?P<a>[A-Za-z]|\d{1,2})[)\]]|(?P<b>[A-Z]|\d{1,2})[.):])(?=\s|$)")
# A bracketed option symbol anywhere: "... so (C) is right"
_BRACKETED = re.compile(r"[(\[](?P<sym>[A-Z])[)\]]")
_ANSWER_PREFIX = re.compile(
    r"^\s*(?:the\s+)?(?:correct\s+|final\s+|best\s+)?(?:answer|option|choice)\s*(?:is|would\s+be)?\s*[:\-]?\s*",
    re.IGNORECASE,
)
CLOSE_MATCH_RATIO = 0.8


def _fold(text: str) -> str:
    """Lowercase, punctuation to spaces, single spaces: the form option texts are compared in."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return " ".join(text.split())


def _symbol_index(sym: str, n: int, *, numbers: bool) -> int | None:
    if sym.isdigit():
        k = int(sym)
        return k - 1 if numbers and 1 <= k <= n else None
    k = LETTERS.find(sym.upper())
    return k if 0 <= k < n else None


def _unique(indices: Sequence[int | None]) -> int | None:
    found = {i for i in indices if i is not None}
    return found.pop() if len(found) == 1 else None


def _marked_symbol(text: str, n: int, numbers: bool) -> int | None:
    hits = []
    for m in _MARKED.finditer(text):
        sym = m.group("sym")
        rest = text[m.end() :]
        # Without a bracket, "a"/"A"/"I" followed by a word is an article or a pronoun
        # ("the answer is a dog"), not an option letter.
        if not m.group("open") and sym.upper() in ("A", "I") and re.match(r"\s+[A-Za-z]", rest):
            continue
        hits.append(_symbol_index(sym, n, numbers=numbers))
    return _unique(hits)


def parse_choice_index(text: str, choices: Sequence[str]) -> int | None:
    """Index of the option chosen in a free-form answer, or None when it cannot be told.

    Tiers, first decisive one wins (a tier with two different candidates is ambiguous: None):

    1. the whole output (minus an "Answer:" prefix, quotes and final punctuation) equals one
       option's text, compared without case and punctuation;
    2. explicit symbols: the whole output is a letter ("B", "(b)", "B."); a marked letter
       ("Answer: B", "the answer is (c)", "Option B"); a leading letter with a delimiter
       ("B. dog", "(B) dog") or bracketed capitals anywhere ("so (C) is right"), which must all
       agree. A bare "A" followed by a word is read as an article, never as option A;
    3. exactly one option's text occurs in the output as whole words (when several do, the
       longest wins if it contains all the others, e.g. "hot dog" over "dog");
    4. option numbers "2", "(2)", "Answer: 2", "2. dog" (1-based), unless an option's text is
       itself a number;
    5. a close match: the output is at least 0.8 similar (difflib ratio) to exactly one option.

    Args:
        text: Model output.
        choices: Option texts in prompt order (option A or 1 first).
    """
    n = len(choices)
    if n == 0:
        return None
    raw = text.replace("**", "").replace("__", "").strip().strip("`\"' \n")
    if not raw:
        return None
    folded_choices = [_fold(c) for c in choices]
    answer_part = _ANSWER_PREFIX.sub("", raw, count=1)

    # 1. exact option text
    exact = [i for i, c in enumerate(folded_choices) if c and c in (_fold(raw), _fold(answer_part))]
    if exact:
        return _unique(exact)

    # 2. explicit letters
    for finder in (
        lambda: _whole_symbol(answer_part, n, numbers=False),
        lambda: _marked_symbol(raw, n, numbers=False),
        # a leading "(A)" and a later "(B)" are two candidates: ambiguous
        lambda: _unique(
            [_leading_symbol(raw, n, numbers=False)]
            + [_symbol_index(m.group("sym"), n, numbers=False) for m in _BRACKETED.finditer(raw)]
        ),
    ):
        index = finder()
        if index is not None:
            return index

    # 3. option text inside the output
    contained = _contained_option(_fold(raw), folded_choices)
    if contained is not None:
        return contained

    # 4. option numbers, unless options are themselves numbers
    if not any(re.fullmatch(r"[\d\s.,]+", c) for c in folded_choices if c):
        for finder in (
            lambda: _whole_symbol(answer_part, n, numbers=True),
            lambda: _marked_symbol(raw, n, numbers=True),
            lambda: _leading_symbol(raw, n, numbers=True),
        ):
            index = finder()
            if index is not None:
                return index

    # 5. close match
    return _close_option(_fold(answer_part), folded_choices)


def _whole_symbol(text: str, n: int, *, numbers: bool) -> int | None:
    m = _WHOLE.match(text.strip())
    if m is None:
        return None
    sym = m.group("sym")
    if sym.isdigit() != numbers:
        return None
    return _symbol_index(sym, n, numbers=numbers)


def _leading_symbol(text: str, n: int, *, numbers: bool) -> int | None:
    m = _LEADING.match(text)
    if m is None:
        return None
    sym = m.group("a") or m.group("b")
    if sym.isdigit() != numbers:
        return None
    return _symbol_index(sym, n, numbers=numbers)


def _contained_option(folded: str, folded_choices: Sequence[str]) -> int | None:
    padded = f" {folded} "
    hits = [i for i, c in enumerate(folded_choices) if c and f" {c} " in padded]
    if not hits:
        return None
    longest = max(hits, key=lambda i: len(folded_choices[i]))
    if all(f" {folded_choices[i]} " in f" {folded_choices[longest]} " for i in hits):
        # every hit is part of the longest one; several equal texts still count as one option
        return _unique([i for i in hits if folded_choices[i] == folded_choices[longest]])
    return None


def _close_option(folded: str, folded_choices: Sequence[str]) -> int | None:
    if not folded:
        return None
    ratios = [difflib.SequenceMatcher(None, folded, c).ratio() if c else 0.0 for c in folded_choices]
    best = max(range(len(ratios)), key=ratios.__getitem__)
    others = [r for i, r in enumerate(ratios) if i != best]
    if ratios[best] >= CLOSE_MATCH_RATIO and all(r < ratios[best] for r in others):
        return best
    return None


def _mc_reference(text: str, choices: Sequence[str]) -> str | None:
    """A multiple-choice reference is the correct option's text (or, failing that, its letter)."""
    stripped = text.strip()
    for c in choices:
        if c.strip() == stripped:
            return c
    folded = _fold(stripped)
    matches = [c for c in choices if _fold(c) == folded]
    if matches:
        return matches[0]
    index = _whole_symbol(stripped, len(choices), numbers=False)
    return choices[index] if index is not None else None


@register_parser(
    "mc_choice",
    "the chosen option's text: exact option text, then explicit letters (B, (B), B., Answer: B), "
    "then option text inside the output, then option numbers, then a close (>=0.8) match; "
    "ambiguous -> None",
    reference=_mc_reference,
)
def mc_choice(text: str, choices: Sequence[str]) -> str | None:
    """The text of the option chosen in ``text`` (see :func:`parse_choice_index`), or None."""
    index = parse_choice_index(text, choices)
    return choices[index] if index is not None else None
