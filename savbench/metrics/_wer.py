"""Word and character error rate.

Corpus WER = sum of word edit distances / sum of reference words x 100, the definition of
lmms-eval's LibriSpeech task; with the default ``whisper_en+basic`` normaliser the number is
bit-identical to lmms-eval's. Edit distances come from ``editdistance`` on word lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import editdistance
import numpy as np

from savbench.metrics._base import Metric, MetricResult, ScoringInput, register_metric
from savbench.metrics._bootstrap import mean_statistic, ratio_statistic
from savbench.metrics._common import check_choice, confidence_interval
from savbench.metrics._normalize import describe_normalizer, get_normalizer

AGGREGATIONS = ("corpus", "macro")

EMPTY_REFERENCE_RULE = (
    "a reference that is empty after normalisation adds its hypothesis words as insertions to "
    "the corpus numerator and 0 to the denominator; its per-utterance rate is 0 when the "
    "hypothesis is empty too, else 100"
)


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (substitutions, insertions, deletions)."""
    return int(editdistance.eval(list(reference), list(hypothesis)))


def _words(text: str) -> list[str]:
    return text.split()


def _chars(text: str) -> list[str]:
    return list(" ".join(text.split()))


class _ErrorRate(Metric):
    direction = "lower"
    scale = "percent"
    unit: str
    tokenize: Callable[[str], list[str]]

    def __init__(
        self,
        *,
        normalizer: str = "whisper_en+basic",
        aggregation: str = "corpus",
        bootstrap_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        self.normalizer_name = normalizer
        self.normalize = get_normalizer(normalizer)
        self.aggregation = check_choice("aggregation", aggregation, AGGREGATIONS)

    def settings(self) -> dict[str, Any]:
        return {"normalizer": self.normalizer_name, "aggregation": self.aggregation}

    def counts(self, items: Sequence[ScoringInput]) -> tuple[np.ndarray, np.ndarray]:
        """Edit distance and reference length (in units) per item, after normalisation."""
        edits = np.zeros(len(items), dtype=np.float64)
        lengths = np.zeros(len(items), dtype=np.float64)
        for i, item in enumerate(items):
            if not item.references:
                raise ValueError(
                    f"sample {item.sample_id!r}: field 'references' is empty; {self.name} needs one"
                )
            ref = self.tokenize(self.normalize(item.references[0]))
            hyp = self.tokenize(self.normalize(item.prediction))
            edits[i] = edit_distance(ref, hyp)
            lengths[i] = len(ref)
        return edits, lengths

    def sufficient_statistics(
        self, items: Sequence[ScoringInput]
    ) -> tuple[np.ndarray, Callable[[np.ndarray], float]]:
        """Per-item statistics and the function that turns rows of them into the score.

        Corpus: rows are (edits, reference length); macro: rows are per-utterance rates.
        """
        edits, lengths = self.counts(items)
        if self.aggregation == "macro":
            return _per_item_rates(edits, lengths)[:, None], lambda s: float(np.mean(s[:, 0]))

        def aggregate(stats: np.ndarray) -> float:
            total = stats[:, 1].sum()
            return float(stats[:, 0].sum() / total * 100) if total > 0 else float("nan")

        return np.stack([edits, lengths], axis=1), aggregate

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        edits, lengths = self.counts(items)
        rates = _per_item_rates(edits, lengths)
        empty_refs = int((lengths == 0).sum())
        if self.aggregation == "corpus":
            statistic = ratio_statistic(edits, lengths)
            score = float(edits.sum() / lengths.sum() * 100) if lengths.sum() > 0 else None
            aggregation = f"corpus: sum of edit distances / sum of reference {self.unit}s x 100"
            resampled = f"sum of edits / sum of reference {self.unit}s on each resample"
        else:
            statistic = mean_statistic(rates / 100)
            score = float(rates.mean()) if len(items) else None
            aggregation = f"macro: mean of per-utterance {self.name.upper()} (each x 100)"
            resampled = "mean of per-utterance rates on each resample"
        ci, ci_def = (None, {})
        if score is not None:
            ci, ci_def = confidence_interval(self, items, statistic, scale_factor=100.0, resampled=resampled)
        definition = {
            **self.settings(),
            "normalizer_description": describe_normalizer(self.normalizer_name),
            "aggregation_description": aggregation,
            "scale": "percent (0-100, can exceed 100 with insertions)",
            "tokenizer": f"whitespace split of the normalised text into {self.unit}s"
            if self.unit == "word"
            else "characters of the normalised text, words joined by single spaces (spaces count)",
            "edit_distance": "editdistance.eval (Levenshtein, unit costs)",
            "references": "the first reference of each sample",
            "empty_reference": EMPTY_REFERENCE_RULE,
            "empty_references": empty_refs,
            "total_edits": int(edits.sum()),
            f"total_reference_{self.unit}s": int(lengths.sum()),
            **ci_def,
        }
        return MetricResult(
            metric=self.name,
            score=score,
            per_sample=[float(r) for r in rates],
            ci=ci,
            n=len(items),
            direction=self.direction,
            scale=self.scale,
            definition=definition,
            unavailable=None if score is not None else "every reference is empty after normalisation",
            details=[
                {"edits": int(e), f"reference_{self.unit}s": int(n)}
                for e, n in zip(edits, lengths, strict=True)
            ],
        )


def _per_item_rates(edits: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return np.where(lengths > 0, edits / np.maximum(lengths, 1) * 100, np.where(edits > 0, 100.0, 0.0))


@register_metric("wer")
class WordErrorRate(_ErrorRate):
    """Word error rate in percent.

    Args:
        normalizer: Registered normaliser applied to reference and hypothesis.
        aggregation: ``corpus`` (sum of edits / sum of words) or ``macro`` (mean per-utterance WER).
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    unit = "word"
    tokenize = staticmethod(_words)


@register_metric("cer")
class CharacterErrorRate(_ErrorRate):
    """Character error rate in percent (spaces between words count as characters).

    Args:
        normalizer: Registered normaliser applied to reference and hypothesis.
        aggregation: ``corpus`` or ``macro``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    unit = "character"
    tokenize = staticmethod(_chars)
