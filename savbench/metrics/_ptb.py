"""Caption tokenisation: Stanford PTBTokenizer (Java), as the COCO caption evaluation runs it.

Sentences are tokenised by one Java launch per batch of unseen sentences and memoised by their
text for the life of the process, so a task scored with CIDEr, BLEU, METEOR and ROUGE-L pays for
one launch, not one per metric. Without Java a pure-Python approximation of the PTB rules is
used and metric definitions say so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

# Tokens the COCO caption evaluation drops after PTB tokenisation (compared case-sensitively,
# so the lowercased bracket tokens "-lrb-" and "-rrb-" stay, as they do there).
PTB_PUNCTUATION = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
TOKENIZERS = ("auto", "ptb", "python")
_MAX_CACHE = 500_000

_cache: dict[tuple[str, str], str] = {}
_launches = 0


@lru_cache(maxsize=1)
def corenlp_jar() -> Path | None:
    """The Stanford CoreNLP jar shipped inside pycocoevalcap, or None."""
    try:
        from pycocoevalcap.tokenizer import ptbtokenizer
    except ImportError:
        return None
    jar = Path(ptbtokenizer.__file__).parent / "stanford-corenlp-3.4.1.jar"
    return jar if jar.is_file() else None


def java_executable() -> str | None:
    """Path of ``java`` on PATH, or None."""
    return shutil.which("java")


def ptb_unavailable_reason() -> str | None:
    """Why the Java PTBTokenizer cannot run here, or None when it can."""
    if java_executable() is None:
        return "no 'java' executable on PATH (install a JRE, e.g. apt default-jre-headless)"
    if corenlp_jar() is None:
        return "pycocoevalcap's stanford-corenlp-3.4.1.jar was not found"
    return None


def resolve_tokenizer(choice: str) -> tuple[str, str]:
    """The tokenizer to use for ``choice`` (auto, ptb, python) and a note for definitions.

    Raises:
        ValueError: For an unknown choice, or ``ptb`` where Java cannot run.
    """
    if choice not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}; got {choice!r}")
    reason = ptb_unavailable_reason()
    if choice == "ptb" and reason is not None:
        raise ValueError(f"tokenizer 'ptb' cannot run: {reason}")
    if choice == "python" or reason is not None:
        note = "pure-Python PTB approximation (lowercase, PTB splitting of punctuation and clitics)"
        if choice == "auto":
            note += f"; Java PTBTokenizer unavailable: {reason}"
        return "python", note + "; COCO punctuation tokens dropped"
    return (
        "ptb",
        "Stanford PTBTokenizer (CoreNLP 3.4.1 from pycocoevalcap, -preserveLines -lowerCase); COCO punctuation tokens dropped",
    )


def tokenize_captions(sentences: Sequence[str], tokenizer: str = "ptb") -> list[str]:
    """Tokenise captions; results are memoised per sentence text.

    Args:
        sentences: Raw captions.
        tokenizer: ``ptb`` (Java) or ``python``.

    Returns:
        One space-joined token string per sentence, lowercased, punctuation tokens removed.
    """
    missing = list(dict.fromkeys(s for s in sentences if (tokenizer, s) not in _cache))
    if missing:
        if len(_cache) + len(missing) > _MAX_CACHE:
            _cache.clear()
        done = _java_tokenize(missing) if tokenizer == "ptb" else [python_tokenize(s) for s in missing]
        for sentence, tokens in zip(missing, done, strict=True):
            _cache[(tokenizer, sentence)] = tokens
    return [_cache[(tokenizer, s)] for s in sentences]


def java_launches() -> int:
    """How many times the Java tokenizer has been started in this process."""
    return _launches


def _drop_punctuation(line: str) -> str:
    return " ".join(w for w in line.rstrip().split(" ") if w not in PTB_PUNCTUATION)


def _java_tokenize(sentences: Sequence[str]) -> list[str]:
    global _launches
    java, jar = java_executable(), corenlp_jar()
    if java is None or jar is None:
        raise RuntimeError(ptb_unavailable_reason())
    # One sentence per line, every line terminated: PTBTokenizer with -preserveLines then gives
    # exactly one output line per input line, empty ones included.
    text = "".join(s.replace("\r", " ").replace("\n", " ") + "\n" for s in sentences)
    fd, path = tempfile.mkstemp(prefix="savbench-ptb-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        cmd = [java, "-Dfile.encoding=UTF-8", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer"]
        cmd += ["-preserveLines", "-lowerCase", "-encoding", "utf-8", path]
        _launches += 1
        proc = subprocess.run(cmd, capture_output=True, check=False)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(
            f"PTBTokenizer failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}"
        )
    lines = proc.stdout.decode("utf-8").split("\n")
    if len(lines) < len(sentences):
        raise RuntimeError(f"PTBTokenizer returned {len(lines)} lines for {len(sentences)} sentences")
    return [_drop_punctuation(line) for line in lines[: len(sentences)]]


# --- pure-Python approximation ------------------------------------------------------------

_QUOTE_OPEN = re.compile(r'(^|[\s(\[{<])"')
_CLITICS = re.compile(r"(?i)(\w)('s|'m|'d|'ll|'re|'ve|n't)\b")
_SPLIT_PUNCT = re.compile(
    r"(\.\.\.|--|[,;!?()\[\]{}\"`]|(?<!\d):|:(?!\d)|'(?!\w)|(?<!\w)'(?!(?:s|m|d|ll|re|ve)\b))"
)
_SPLIT_WORDS = re.compile(r"\b(can)(not)\b|\b(gon|wan)(na)\b|\b(got)(ta)\b")
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}


def python_tokenize(sentence: str) -> str:
    """PTB-like tokenisation without Java: lowercase; quotes become `` and ''; brackets become
    -lrb- style tokens; clitics ('s, n't, 'll ...), "cannot", "gonna" and punctuation split off;
    final periods split off; then the COCO punctuation tokens are dropped."""
    s = "".join(c for c in sentence if unicodedata.category(c) != "Cf").replace("\u2019", "'")
    s = " ".join(s.split()).lower()
    s = _QUOTE_OPEN.sub(r"\1 `` ", s).replace('"', " '' ")
    s = _CLITICS.sub(r"\1 \2", s)
    s = _SPLIT_WORDS.sub(lambda m: " ".join(g for g in m.groups() if g), s)
    s = _SPLIT_PUNCT.sub(r" \1 ", s)
    words = []
    for w in s.split():
        if w in _BRACKETS:
            words.append(_BRACKETS[w])
        elif len(w) > 1 and w.endswith(".") and not re.fullmatch(r"(?:[a-z]\.)+|[\d.]+", w):
            words.extend([w.rstrip("."), "."])
        else:
            words.append(w)
    return " ".join(w for w in words if w not in PTB_PUNCTUATION)
