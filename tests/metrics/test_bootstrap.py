"""Bootstrap intervals of metric results: seeded, covering the score, clustered, corpus-level."""

from __future__ import annotations

import random

import pytest

from savbench.metrics import ScoringInput, get_metric


def _wer_items(n: int, seed: int = 0, clusters: bool = False) -> list[ScoringInput]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    items = []
    for i in range(n):
        ref = [rng.choice(words) for _ in range(rng.randint(2, 12))]
        hyp = [w if rng.random() > 0.2 else rng.choice(words) for w in ref]
        items.append(
            ScoringInput(str(i), " ".join(hyp), (" ".join(ref),), cluster=f"v{i // 5}" if clusters else None)
        )
    return items


def test_ci_is_reproducible_for_a_seed_and_covers_the_score():
    items = _wer_items(200)
    a = get_metric("wer", seed=7, bootstrap_samples=300).compute(items)
    b = get_metric("wer", seed=7, bootstrap_samples=300).compute(items)
    c = get_metric("wer", seed=8, bootstrap_samples=300).compute(items)
    assert a.ci == b.ci
    assert a.ci != c.ci
    assert a.ci[0] < a.score < a.ci[1]


def test_corpus_ratio_is_recomputed_per_resample():
    # every utterance has exactly half its words wrong, whatever its length: any resample of the
    # corpus has WER 50, so the interval collapses onto the score
    items = [
        ScoringInput(str(i), "x " * k + "a " * k, ("b " * k + "a " * k,)) for i, k in enumerate([1, 2, 5, 9])
    ]
    result = get_metric("wer").compute(items)
    assert result.score == pytest.approx(50.0)
    assert result.ci == pytest.approx((50.0, 50.0))


def test_clustered_bootstrap_widens_the_interval_for_correlated_samples():
    # five identical answers per video: resampling answers pretends there are five times more
    # independent units than there are
    items = []
    rng = random.Random(1)
    for video in range(40):
        right = rng.random() < 0.6
        for q in range(5):
            items.append(
                ScoringInput(f"{video}-{q}", "Yes" if right else "No", ("Yes",), cluster=f"video{video}")
            )
    plain = get_metric("yes_no_accuracy", bootstrap_samples=500).compute(
        [ScoringInput(i.sample_id, i.prediction, i.references) for i in items]
    )
    clustered = get_metric("yes_no_accuracy", bootstrap_samples=500).compute(items)
    assert plain.score == clustered.score
    width = lambda r: r.ci[1] - r.ci[0]  # noqa: E731
    assert width(clustered) > 1.5 * width(plain)
    assert clustered.definition["ci_resampling_units"] == 40
    assert "clusters" in clustered.definition["ci_resampling_unit"]
    assert plain.definition["ci_resampling_unit"] == "samples"


def test_clustered_ci_covers_the_score():
    items = _wer_items(150, seed=3, clusters=True)
    result = get_metric("wer", bootstrap_samples=300).compute(items)
    assert result.ci[0] < result.score < result.ci[1]
    assert result.definition["ci_resampling_units"] == 30
