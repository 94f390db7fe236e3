"""Accuracy-style metrics: multiple choice, yes/no, exact match and VQA accuracy (percent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from savbench.metrics._base import Metric, MetricResult, ScoringInput, register_metric
from savbench.metrics._bootstrap import mean_statistic
from savbench.metrics._common import confidence_interval
from savbench.metrics._normalize import describe_normalizer, get_normalizer
from savbench.metrics._parsers import get_parser


def _result(
    metric: Metric,
    items: Sequence[ScoringInput],
    values: list[float],
    details: list[dict[str, Any]],
    definition: dict[str, Any],
) -> MetricResult:
    """Mean of per-sample values in [0, 1], reported in percent, with its bootstrap CI."""
    arr = np.asarray(values, dtype=np.float64)
    score = float(arr.mean() * 100) if len(arr) else None
    ci, ci_def = (None, {})
    if score is not None:
        ci, ci_def = confidence_interval(
            metric, items, mean_statistic(arr), scale_factor=100.0, resampled="mean of per-sample values"
        )
    return MetricResult(
        metric=metric.name,
        score=score,
        per_sample=[float(v) * 100 for v in values],
        ci=ci,
        n=len(items),
        direction=metric.direction,
        scale=metric.scale,
        definition={**definition, "aggregation": "mean", "scale": "percent (0-100)", **ci_def},
        unavailable=None if score is not None else "no sample was scored",
        details=details,
    )


@register_metric("accuracy")
class Accuracy(Metric):
    """Share of samples whose parsed answer equals the parsed reference, in percent.

    With ``parser: mc_choice`` the output and the reference (the correct option's text) are both
    resolved to an option, so the comparison is by option. With ``parser: yes_no`` both become
    ``yes``/``no``. An output the parser cannot read counts as wrong and is counted as
    ``unparsed``.

    Args:
        parser: Registered answer parser.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    direction = "higher"
    scale = "percent"
    default_parser = "mc_choice"

    def __init__(self, *, parser: str | None = None, bootstrap_samples: int = 1000, seed: int = 0) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        self.parser = get_parser(parser or self.default_parser)

    def settings(self) -> dict[str, Any]:
        return {"parser": self.parser.name}

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        values: list[float] = []
        details: list[dict[str, Any]] = []
        unparsed = 0
        for item in items:
            if not item.references:
                raise ValueError(
                    f"sample {item.sample_id!r}: field 'references' is empty; accuracy needs one"
                )
            target = self.parser.reference(item.references[0], item.choices)
            if target is None:
                where = f"choices {list(item.choices)!r}" if item.choices else f"parser {self.parser.name!r}"
                raise ValueError(
                    f"sample {item.sample_id!r}: field 'references' value {item.references[0]!r} "
                    f"cannot be read as an answer by {where}"
                )
            parsed = self.parser(item.prediction, item.choices)
            unparsed += parsed is None
            values.append(1.0 if parsed is not None and parsed == target else 0.0)
            details.append({"parsed": parsed, "target": target})
        definition = {
            **self.settings(),
            "parser_description": self.parser.description,
            "aggregation_description": "mean of per-sample correctness (1 if parsed answer == parsed reference) x 100",
            "references": "the first reference of each sample",
            "unparsed": unparsed,
            "unparsed_rule": "an output the parser cannot read counts as wrong",
        }
        return _result(self, items, values, details, definition)


@register_metric("yes_no_accuracy")
class YesNoAccuracy(Accuracy):
    """``accuracy`` with the ``yes_no`` parser as its default.

    Args:
        parser: Registered answer parser (default ``yes_no``).
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    default_parser = "yes_no"


@register_metric("exact_match")
class ExactMatch(Metric):
    """Share of samples whose normalised answer equals any normalised reference, in percent.

    Args:
        normalizer: Registered normaliser applied to answer and references.
        parser: Registered parser that first extracts the answer from the output.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    direction = "higher"
    scale = "percent"

    def __init__(
        self,
        *,
        normalizer: str = "lower_punct",
        parser: str = "strip",
        bootstrap_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        self.normalizer_name = normalizer
        self.normalize = get_normalizer(normalizer)
        self.parser = get_parser(parser)

    def settings(self) -> dict[str, Any]:
        return {"normalizer": self.normalizer_name, "parser": self.parser.name}

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        values: list[float] = []
        details: list[dict[str, Any]] = []
        unparsed = 0
        for item in items:
            parsed = self.parser(item.prediction, item.choices)
            unparsed += parsed is None
            answer = self.normalize(parsed) if parsed is not None else None
            hit = answer is not None and any(answer == self.normalize(r) for r in item.references)
            values.append(1.0 if hit else 0.0)
            details.append({"answer": answer})
        definition = {
            **self.settings(),
            "normalizer_description": describe_normalizer(self.normalizer_name),
            "parser_description": self.parser.description,
            "aggregation_description": "mean of per-sample match (1 if the answer equals any reference) x 100",
            "references": "all references; a match with any counts",
            "unparsed": unparsed,
        }
        return _result(self, items, values, details, definition)


@register_metric("vqa_accuracy")
class VQAAccuracy(Metric):
    """VQA accuracy (TextVQA, VQAv2): an answer is fully right when at least 3 annotators gave it.

    With ``leave_one_out`` (the official evaluation and lmms-eval's): the mean, over the 10
    subsets of 9 annotator answers, of min(matches / 3, 1). Without it: min(matches / 3, 1) over
    all references.

    Args:
        normalizer: Registered normaliser (default ``vqa``: the VQA answer processing).
        parser: Registered parser applied to the output first.
        leave_one_out: Average over leave-one-annotator-out subsets.
        bootstrap_samples: Bootstrap resamples for the CI.
        seed: Bootstrap seed.
    """

    direction = "higher"
    scale = "percent"

    def __init__(
        self,
        *,
        normalizer: str = "vqa",
        parser: str = "none",
        leave_one_out: bool = True,
        bootstrap_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        if not isinstance(leave_one_out, bool):
            raise ValueError(f"leave_one_out must be true or false; got {leave_one_out!r}")
        self.normalizer_name = normalizer
        self.normalize = get_normalizer(normalizer)
        self.parser = get_parser(parser)
        self.leave_one_out = leave_one_out

    def settings(self) -> dict[str, Any]:
        return {
            "normalizer": self.normalizer_name,
            "parser": self.parser.name,
            "leave_one_out": self.leave_one_out,
        }

    def score_one(self, answer: str | None, references: Sequence[str]) -> float:
        """VQA accuracy of one normalised answer against the annotators' answers."""
        if answer is None or not references:
            return 0.0
        refs = [self.normalize(r) for r in references]
        if not self.leave_one_out or len(refs) < 2:
            return min(sum(r == answer for r in refs) / 3, 1.0)
        scores = [
            min(sum(r == answer for j, r in enumerate(refs) if j != i) / 3, 1.0) for i in range(len(refs))
        ]
        return float(np.mean(scores))

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        values: list[float] = []
        details: list[dict[str, Any]] = []
        unparsed = 0
        for item in items:
            parsed = self.parser(item.prediction, item.choices)
            unparsed += parsed is None
            answer = self.normalize(parsed) if parsed is not None else None
            values.append(self.score_one(answer, item.references))
            details.append({"answer": answer})
        rule = (
            "mean over leave-one-annotator-out subsets of min(#matching annotators / 3, 1)"
            if self.leave_one_out
            else "min(#matching annotators / 3, 1)"
        )
        definition = {
            **self.settings(),
            "normalizer_description": describe_normalizer(self.normalizer_name),
            "per_sample_rule": rule,
            "aggregation_description": "mean of per-sample VQA accuracy x 100",
            "unparsed": unparsed,
        }
        return _result(self, items, values, details, definition)
