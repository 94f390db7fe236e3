"""BLEU from per-sample sufficient statistics, as the COCO caption evaluation defines it.

Each sample contributes (hypothesis length, effective reference length, n-gram guesses 1..4,
clipped n-gram matches 1..4). The effective reference length is the reference length closest to
the hypothesis length, the shorter one on a tie. Corpus BLEU-n sums the statistics over samples;
sentence BLEU-n applies the same formula to one row. The small constants keep zero counts finite
exactly as the COCO code does, so the numbers agree with ``pycocoevalcap.bleu`` to rounding.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

MAX_N = 4
_TINY = 1e-15
_SMALL = 1e-9
# column layout of a statistics row
HYP_LEN, REF_LEN = 0, 1
GUESS = slice(2, 2 + MAX_N)
CORRECT = slice(2 + MAX_N, 2 + 2 * MAX_N)
N_COLUMNS = 2 + 2 * MAX_N


def _ngrams(words: Sequence[str], max_n: int) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for k in range(1, max_n + 1):
        counts.update(tuple(words[i : i + k]) for i in range(len(words) - k + 1))
    return counts


def bleu_statistics(hypothesis: str, references: Sequence[str]) -> np.ndarray:
    """Sufficient statistics of one tokenised hypothesis against its tokenised references.

    Args:
        hypothesis: Space-separated tokens.
        references: Space-separated tokens, one string per reference (at least one).

    Returns:
        A row of length :data:`N_COLUMNS`.
    """
    if not references:
        raise ValueError("BLEU needs at least one reference")
    hyp = hypothesis.split()
    refs = [r.split() for r in references]
    best: Counter[tuple[str, ...]] = Counter()
    for ref in refs:
        for gram, count in _ngrams(ref, MAX_N).items():
            best[gram] = max(best[gram], count)
    row = np.zeros(N_COLUMNS, dtype=np.float64)
    row[HYP_LEN] = len(hyp)
    row[REF_LEN] = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    for gram, count in _ngrams(hyp, MAX_N).items():
        row[CORRECT.start + len(gram) - 1] += min(count, best[gram])
    for k in range(1, MAX_N + 1):
        row[GUESS.start + k - 1] = max(0, len(hyp) - k + 1)
    return row


def bleu_score(stats: np.ndarray, n: int) -> float:
    """BLEU-n of summed statistics (a 2-D array is summed over rows first).

    Args:
        stats: One row (sentence BLEU) or many rows (corpus BLEU).
        n: Highest n-gram order, 1 to 4.
    """
    if not 1 <= n <= MAX_N:
        raise ValueError(f"BLEU order must be 1..{MAX_N}; got {n}")
    total = stats.sum(axis=0) if stats.ndim == 2 else stats
    product = 1.0
    for k in range(n):
        product *= (total[CORRECT.start + k] + _TINY) / (total[GUESS.start + k] + _SMALL)
    score = product ** (1.0 / n)
    ratio = (total[HYP_LEN] + _TINY) / (total[REF_LEN] + _SMALL)
    if ratio < 1:
        score *= math.exp(1 - 1 / ratio)
    return float(score)
