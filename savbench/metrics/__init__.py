"""Metrics: predictions + references -> corpus score, per-sample scores, confidence interval.

Metrics, text normalisers and answer parsers are registered by name; task YAML names them
(``name: wer``, ``normalizer: whisper_en+basic``, ``parser: mc_choice``) and never imports code.
"""

from savbench.metrics._accuracy import Accuracy, ExactMatch, VQAAccuracy, YesNoAccuracy
from savbench.metrics._base import (
    Metric,
    MetricResult,
    ScoringInput,
    get_metric,
    metric_class,
    metric_names,
    register_metric,
)
from savbench.metrics._bleu import bleu_score, bleu_statistics
from savbench.metrics._bootstrap import bootstrap_ci, mean_statistic, ratio_statistic, resample_indices
from savbench.metrics._captions import (
    METEOR,
    SPICE,
    Bleu1,
    Bleu2,
    Bleu3,
    Bleu4,
    CIDEr,
    RougeL,
    SPIDEr,
    TokenizedCorpus,
    tokenize_corpus,
)
from savbench.metrics._coco_java import ScorerUnavailable
from savbench.metrics._normalize import (
    Normalizer,
    describe_normalizer,
    drop_punctuation_tokens,
    get_normalizer,
    normalizer_names,
    register_normalizer,
    remove_special_tokens,
)
from savbench.metrics._parsers import (
    Parser,
    first_line,
    get_parser,
    mc_choice,
    parse_choice_index,
    parser_names,
    register_parser,
    strip_answer,
    yes_no,
)
from savbench.metrics._ptb import java_launches, ptb_unavailable_reason, python_tokenize, tokenize_captions
from savbench.metrics._wer import CharacterErrorRate, WordErrorRate, edit_distance

__all__ = [
    "METEOR",
    "SPICE",
    "Accuracy",
    "Bleu1",
    "Bleu2",
    "Bleu3",
    "Bleu4",
    "CIDEr",
    "CharacterErrorRate",
    "ExactMatch",
    "Metric",
    "MetricResult",
    "Normalizer",
    "Parser",
    "RougeL",
    "SPIDEr",
    "ScorerUnavailable",
    "ScoringInput",
    "TokenizedCorpus",
    "VQAAccuracy",
    "WordErrorRate",
    "YesNoAccuracy",
    "bleu_score",
    "bleu_statistics",
    "bootstrap_ci",
    "describe_normalizer",
    "drop_punctuation_tokens",
    "edit_distance",
    "first_line",
    "get_metric",
    "get_normalizer",
    "get_parser",
    "java_launches",
    "mc_choice",
    "mean_statistic",
    "metric_class",
    "metric_names",
    "normalizer_names",
    "parse_choice_index",
    "parser_names",
    "ptb_unavailable_reason",
    "python_tokenize",
    "ratio_statistic",
    "register_metric",
    "register_normalizer",
    "register_parser",
    "remove_special_tokens",
    "resample_indices",
    "strip_answer",
    "tokenize_captions",
    "tokenize_corpus",
    "yes_no",
]
