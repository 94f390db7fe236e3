"""Caption metrics of the COCO caption evaluation: CIDEr-D, BLEU-1..4, METEOR, ROUGE-L, SPICE, SPIDEr.

Captions are tokenised once (PTBTokenizer, memoised per sentence) and every metric of a task
reuses the tokens. Scores are on pycocoevalcap's scale: fractions in [0, 1] for BLEU, METEOR,
ROUGE-L and SPICE, and CIDEr-D's own unbounded scale (x10, typically 0-10) for CIDEr and SPIDEr.
A metric that cannot run here (no Java, SPICE's CoreNLP jars absent) returns ``score=None`` with
the reason in ``unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from savbench.metrics._base import Metric, MetricResult, ScoringInput, register_metric
from savbench.metrics._bleu import bleu_score, bleu_statistics
from savbench.metrics._bootstrap import mean_statistic
from savbench.metrics._coco_java import ScorerUnavailable, meteor_scores, spice_scores
from savbench.metrics._common import confidence_interval
from savbench.metrics._ptb import resolve_tokenizer, tokenize_captions

# corpus score, per-sample scores, bootstrap statistic over index arrays, definition entries
CorpusScore = tuple[float, list[float], Callable[[np.ndarray], float], dict[str, Any]]


@dataclass(frozen=True)
class TokenizedCorpus:
    """Tokenised hypotheses and references of one task, aligned with its items."""

    hypotheses: list[str]
    references: list[list[str]]
    tokenizer: str
    tokenizer_note: str


def tokenize_corpus(items: Sequence[ScoringInput], tokenizer: str = "auto") -> TokenizedCorpus:
    """Tokenise predictions and references of a caption task in one batch.

    Args:
        items: The samples; each needs at least one reference.
        tokenizer: ``auto`` (Java PTBTokenizer when available, else the Python approximation),
            ``ptb`` or ``python``.

    Raises:
        ValueError: When a sample has no reference.
    """
    kind, note = resolve_tokenizer(tokenizer)
    for item in items:
        if not item.references:
            raise ValueError(
                f"sample {item.sample_id!r}: field 'references' is empty; caption metrics need one"
            )
    flat = [item.prediction for item in items] + [r for item in items for r in item.references]
    tokens = tokenize_captions(flat, kind)
    hyps, rest = tokens[: len(items)], tokens[len(items) :]
    refs: list[list[str]] = []
    for item in items:
        refs.append(rest[: len(item.references)])
        rest = rest[len(item.references) :]
    return TokenizedCorpus(hyps, refs, kind, note)


class _CaptionMetric(Metric):
    direction = "higher"
    scale = "fraction"
    scale_note = "fraction (0-1), pycocoevalcap's scale"

    def __init__(self, *, tokenizer: str = "auto", bootstrap_samples: int = 1000, seed: int = 0) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        resolve_tokenizer(tokenizer)  # fail at spec load for a bad choice
        self.tokenizer = tokenizer

    def settings(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer}

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        """Corpus score, per-sample scores, bootstrap statistic and definition entries.

        Raises:
            ScorerUnavailable: When the scorer cannot run here.
        """
        raise NotImplementedError

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        corpus = tokenize_corpus(items, self.tokenizer)
        definition: dict[str, Any] = {
            **self.settings(),
            "tokenizer_used": corpus.tokenizer_note,
            "scale": self.scale_note,
            "references": "all references of each sample",
        }
        try:
            score, per_sample, statistic, extra = self.score_corpus(corpus)
        except ScorerUnavailable as exc:
            return MetricResult(
                metric=self.name,
                score=None,
                per_sample=[None] * len(items),
                ci=None,
                n=0,
                direction=self.direction,
                scale=self.scale,
                definition=definition,
                unavailable=str(exc),
            )
        ci, ci_def = confidence_interval(self, items, statistic, resampled=extra.pop("ci_statistic"))
        return MetricResult(
            metric=self.name,
            score=float(score),
            per_sample=[float(v) for v in per_sample],
            ci=ci,
            n=len(items),
            direction=self.direction,
            scale=self.scale,
            definition={**definition, **extra, **ci_def},
        )


def _as_dicts(corpus: TokenizedCorpus) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    gts = {i: refs for i, refs in enumerate(corpus.references)}
    res = {i: [hyp] for i, hyp in enumerate(corpus.hypotheses)}
    return gts, res


def cider_scores(corpus: TokenizedCorpus) -> tuple[float, list[float]]:
    """CIDEr-D (pycocoevalcap) with document frequencies from this corpus's references."""
    from pycocoevalcap.cider.cider import Cider

    gts, res = _as_dicts(corpus)
    score, scores = Cider().compute_score(gts, res)
    return float(score), [float(s) for s in scores]


@register_metric("cider")
class CIDEr(_CaptionMetric):
    """CIDEr-D of pycocoevalcap (n=1..4, sigma=6, x10) with corpus-level IDF.

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    scale = "score"
    scale_note = "CIDEr-D score as pycocoevalcap reports it (x10; unbounded, typically 0-10)"

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        score, per_sample = cider_scores(corpus)
        return (
            score,
            per_sample,
            mean_statistic(per_sample),
            {
                "variant": "CIDEr-D (pycocoevalcap 1.2: n=1..4, sigma=6, clipped counts, x10)",
                "idf": "document frequencies of n-grams over this corpus's references; a 1-sample corpus scores 0",
                "aggregation": "mean",
                "aggregation_description": "mean of per-sample CIDEr-D",
                "ci_statistic": "mean of per-sample CIDEr-D with the corpus IDF held fixed (not re-estimated per resample)",
            },
        )


class _Bleu(_CaptionMetric):
    order: int

    def sufficient_statistics(
        self, items: Sequence[ScoringInput]
    ) -> tuple[np.ndarray, Callable[[np.ndarray], float]]:
        """Per-sample BLEU statistics rows and the corpus BLEU-n of summed rows."""
        corpus = tokenize_corpus(items, self.tokenizer)
        stats = np.stack(
            [bleu_statistics(h, r) for h, r in zip(corpus.hypotheses, corpus.references, strict=True)]
        )
        return stats, lambda rows: bleu_score(rows, self.order)

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        stats = np.stack(
            [bleu_statistics(h, r) for h, r in zip(corpus.hypotheses, corpus.references, strict=True)]
        )
        per_sample = [bleu_score(row, self.order) for row in stats]

        def statistic(idx: np.ndarray) -> float:
            return bleu_score(stats[idx], self.order)

        return (
            bleu_score(stats, self.order),
            per_sample,
            statistic,
            {
                "variant": f"BLEU-{self.order}, pycocoevalcap rules: clipped n-gram precision, closest reference "
                "length (shorter on ties), brevity penalty, 1e-15/1e-9 smoothing constants",
                "aggregation": "corpus",
                "aggregation_description": "corpus BLEU from n-gram statistics summed over samples (not a mean of "
                "sentence BLEU); per-sample values are sentence BLEU",
                "ci_statistic": "corpus BLEU recomputed from the resampled samples' summed n-gram statistics",
            },
        )


def _bleu_class(order: int) -> type[_Bleu]:
    doc = f"""Corpus BLEU-{order} of the COCO caption evaluation (fraction 0-1).

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """
    cls = type(f"Bleu{order}", (_Bleu,), {"order": order, "__doc__": doc, "__module__": __name__})
    return register_metric(f"bleu{order}")(cls)  # type: ignore[return-value]


Bleu1, Bleu2, Bleu3, Bleu4 = (_bleu_class(k) for k in (1, 2, 3, 4))


@register_metric("rouge_l")
class RougeL(_CaptionMetric):
    """ROUGE-L F-measure of pycocoevalcap (beta=1.2, best precision and recall over references).

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        from pycocoevalcap.rouge.rouge import Rouge

        rouge = Rouge()
        per_sample = [
            float(rouge.calc_score([h], r)) for h, r in zip(corpus.hypotheses, corpus.references, strict=True)
        ]
        return (
            float(np.mean(per_sample)),
            per_sample,
            mean_statistic(per_sample),
            {
                "variant": "ROUGE-L (pycocoevalcap: LCS, beta=1.2, max precision and max recall over references)",
                "aggregation": "mean",
                "aggregation_description": "mean of per-sample ROUGE-L",
                "ci_statistic": "mean of per-sample ROUGE-L",
            },
        )


@register_metric("meteor")
class METEOR(_CaptionMetric):
    """METEOR 1.5 (``-l en -norm``) through the jar shipped in pycocoevalcap.

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        score, per_sample = meteor_scores(corpus.hypotheses, corpus.references)
        return (
            score,
            per_sample,
            mean_statistic(per_sample),
            {
                "variant": "METEOR 1.5 jar from pycocoevalcap, language en, -norm",
                "aggregation": "corpus",
                "aggregation_description": "the jar's corpus aggregate of per-sample statistics (as pycocoevalcap)",
                "ci_statistic": "mean of per-sample METEOR (the jar's corpus aggregate is not recomputed per "
                "resample, so the interval is centred on the mean of per-sample scores)",
            },
        )


@register_metric("spice")
class SPICE(_CaptionMetric):
    """SPICE F-score through the SPICE 1.0 jar in pycocoevalcap (needs Stanford CoreNLP 3.6.0 jars).

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        score, per_sample = spice_scores(corpus.hypotheses, corpus.references)
        values = np.nan_to_num(np.asarray(per_sample), nan=0.0)
        return (
            score,
            per_sample,
            mean_statistic(values),
            {
                "variant": "SPICE 1.0 jar from pycocoevalcap (-subset), F-score of scene-graph tuples",
                "aggregation": "mean",
                "aggregation_description": "mean of per-sample SPICE F over samples SPICE could parse",
                "ci_statistic": "mean of per-sample SPICE (unparsed samples as 0)",
            },
        )


@register_metric("spider")
class SPIDEr(_CaptionMetric):
    """SPIDEr = (CIDEr-D + SPICE) / 2, per sample and for the corpus.

    Args:
        tokenizer: ``auto``, ``ptb`` (Java) or ``python``.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    scale = "score"
    scale_note = "mean of CIDEr-D (x10 scale) and SPICE (0-1)"

    def score_corpus(self, corpus: TokenizedCorpus) -> CorpusScore:
        try:
            spice, spice_each = spice_scores(corpus.hypotheses, corpus.references)
        except ScorerUnavailable as exc:
            raise ScorerUnavailable(f"SPIDEr needs SPICE: {exc}") from None
        cider, cider_each = cider_scores(corpus)
        per_sample = [(c + (s if s == s else 0.0)) / 2 for c, s in zip(cider_each, spice_each, strict=True)]
        return (
            (cider + spice) / 2,
            per_sample,
            mean_statistic(per_sample),
            {
                "variant": "SPIDEr: (CIDEr-D + SPICE) / 2",
                "aggregation": "mean",
                "aggregation_description": "mean of corpus CIDEr-D and corpus SPICE",
                "ci_statistic": "mean of per-sample (CIDEr-D + SPICE) / 2 with the corpus IDF held fixed",
            },
        )
