"""Metric interface and registry.

A metric turns predictions and references into a corpus score, per-sample scores and a
bootstrap confidence interval. Task YAML names metrics by their registered name; YAML never
imports code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

Direction = Literal["higher", "lower"]
Scale = Literal["percent", "fraction", "score"]


@dataclass
class MetricResult:
    """The outcome of one metric on one task.

    Args:
        metric: Registered metric name (e.g. ``wer``).
        score: Corpus score, or None when the metric is unavailable or no sample was scored.
        per_sample: One value per scored sample (None where a sample has no score).
        ci: 95 % confidence interval (low, high) from a seeded bootstrap, or None.
        n: Number of samples scored.
        direction: Whether higher or lower is better.
        scale: ``percent`` (0-100), ``fraction`` (0-1) or ``score`` (unbounded, e.g. CIDEr).
        definition: How the number was computed: normaliser, aggregation, tokeniser, CI method.
        unavailable: Why the metric could not be computed here, or None when it was.
        details: Optional per-sample notes (one dict per sample, e.g. the parsed answer), kept
            out of ``to_dict`` unless per-sample data is asked for.
    """

    metric: str
    score: float | None
    per_sample: list[float | None]
    ci: tuple[float, float] | None
    n: int
    direction: Direction
    scale: Scale
    definition: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, include_per_sample: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not include_per_sample:
            data.pop("per_sample")
            data.pop("details")
        data["ci"] = list(self.ci) if self.ci is not None else None
        return data


@dataclass(frozen=True)
class ScoringInput:
    """What a metric sees for one sample: never media, only text.

    Args:
        sample_id: Sample identifier.
        prediction: The model's raw output text.
        references: Reference answers.
        choices: Answer options for multiple choice (empty otherwise).
        question: The sample's question text (used by judges).
        cluster: Resampling unit for clustered bootstrap, or None.
    """

    sample_id: str
    prediction: str
    references: tuple[str, ...]
    choices: tuple[str, ...] = ()
    question: str = ""
    cluster: str | None = None


class Metric(ABC):
    """Base class of every metric.

    Subclasses set ``name``, ``direction`` and ``scale`` and implement :meth:`compute`.
    Options from the task YAML (for example ``normalizer: whisper_en+basic``) arrive as keyword
    arguments of ``__init__``; unknown options must raise ``TypeError`` so a typo in YAML is
    reported, not ignored.
    """

    name: ClassVar[str]
    direction: ClassVar[Direction]
    scale: ClassVar[Scale]

    def __init__(self, *, bootstrap_samples: int = 1000, seed: int = 0) -> None:
        self.bootstrap_samples = bootstrap_samples
        self.seed = seed

    @abstractmethod
    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        """Score a corpus of predictions.

        Args:
            items: One entry per successfully predicted sample (error rows are excluded).
        """

    def settings(self) -> dict[str, Any]:
        """Options that change the number; recorded in reports and fingerprints."""
        return {}


_METRICS: dict[str, type[Metric]] = {}


def register_metric(name: str) -> Callable[[type[Metric]], type[Metric]]:
    """Class decorator that registers a metric under ``name``."""

    def decorate(cls: type[Metric]) -> type[Metric]:
        if name in _METRICS and _METRICS[name] is not cls:
            raise ValueError(f"metric {name!r} is already registered by {_METRICS[name].__qualname__}")
        cls.name = name
        _METRICS[name] = cls
        return cls

    return decorate


def metric_names() -> list[str]:
    """Names of every registered metric, built-in and from entry points."""
    _load_entry_points()
    return sorted(_METRICS)


def metric_class(name: str) -> type[Metric]:
    """The class registered under ``name``.

    Raises:
        KeyError: When no metric of that name is registered.
    """
    _load_entry_points()
    if name not in _METRICS:
        raise KeyError(f"unknown metric {name!r}; registered metrics: {', '.join(sorted(_METRICS))}")
    return _METRICS[name]


def get_metric(name: str, **options: Any) -> Metric:
    """Instantiate a registered metric.

    Args:
        name: Registered name.
        **options: Settings from the task YAML.

    Raises:
        KeyError: When no metric of that name is registered.
        TypeError: When an option is not understood by the metric.
    """
    _load_entry_points()
    if name not in _METRICS:
        raise KeyError(f"unknown metric {name!r}; registered metrics: {', '.join(sorted(_METRICS))}")
    return _METRICS[name](**options)


_entry_points_loaded = False
_BUILTIN_PLUGINS = ("savbench.judge",)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    import importlib
    from importlib.metadata import entry_points

    for module in _BUILTIN_PLUGINS:
        importlib.import_module(module)  # registers metrics that live outside this package
    for ep in entry_points(group="savbench.metrics"):
        ep.load()  # importing the module runs its @register_metric decorators
