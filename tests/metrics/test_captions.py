"""Caption metrics against pycocoevalcap's own pipeline, on real Flickr30k and AudioCaps text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from savbench.metrics import (
    ScoringInput,
    bleu_score,
    bleu_statistics,
    get_metric,
    java_launches,
    ptb_unavailable_reason,
    tokenize_corpus,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_java = pytest.mark.skipif(ptb_unavailable_reason() is not None, reason=f"{ptb_unavailable_reason()}")


@pytest.fixture(scope="module")
def flickr_items() -> list[ScoringInput]:
    path = SHARED_DATA / "savebench_annotations" / "flickr30k_captions.json"
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    rows = json.loads(path.read_text())[:400]
    # the first human caption plays the model; the other four are the references
    return [ScoringInput(str(i), r["answer"][0], tuple(r["answer"][1:])) for i, r in enumerate(rows)]


def _coco_reference(items: list[ScoringInput]):
    """Tokens and scores from pycocoevalcap's own classes (PTBTokenizer re-run, as lmms-eval does)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    gts = PTBTokenizer().tokenize({i: [{"caption": r} for r in it.references] for i, it in enumerate(items)})
    res = PTBTokenizer().tokenize({i: [{"caption": it.prediction}] for i, it in enumerate(items)})
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    cider, cider_each = Cider().compute_score(gts, res)
    rouge, _ = Rouge().compute_score(gts, res)
    return (
        gts,
        res,
        {"bleu": bleu, "bleu_each": bleu_each, "cider": cider, "cider_each": cider_each, "rouge": rouge},
    )


@needs_java
def test_equal_to_pycocoevalcap_on_flickr30k_human_captions(flickr_items):
    gts, res, ref = _coco_reference(flickr_items)
    corpus = tokenize_corpus(flickr_items, "ptb")
    assert corpus.hypotheses == [res[i][0] for i in range(len(flickr_items))]
    assert corpus.references == [gts[i] for i in range(len(flickr_items))]

    for order in (1, 2, 3, 4):
        result = get_metric(f"bleu{order}", bootstrap_samples=100).compute(flickr_items)
        assert result.score == pytest.approx(ref["bleu"][order - 1], rel=1e-9)
        assert result.per_sample == pytest.approx(ref["bleu_each"][order - 1], rel=1e-9)
        assert result.ci[0] < result.score < result.ci[1]
    cider = get_metric("cider", bootstrap_samples=100).compute(flickr_items)
    assert cider.score == pytest.approx(ref["cider"], rel=1e-12)
    assert cider.per_sample == pytest.approx(list(ref["cider_each"]), rel=1e-12)
    assert cider.scale == "score" and "IDF" in cider.definition["ci_statistic"]
    rouge = get_metric("rouge_l", bootstrap_samples=100).compute(flickr_items)
    assert rouge.score == pytest.approx(ref["rouge"], rel=1e-12)


@needs_java
def test_one_java_launch_per_corpus(flickr_items):
    fresh = [ScoringInput(it.sample_id, it.prediction + " today", it.references) for it in flickr_items[:50]]
    before = java_launches()
    for name in ("cider", "bleu4", "rouge_l", "bleu1"):
        get_metric(name, bootstrap_samples=20).compute(fresh)
    assert java_launches() == before + 1


def test_oracle_scores_and_one_sample_cider(flickr_items):
    oracle = [ScoringInput(it.sample_id, it.references[0], it.references) for it in flickr_items[:100]]
    assert get_metric("bleu4", bootstrap_samples=20).compute(oracle).score == pytest.approx(1.0, abs=1e-6)
    assert get_metric("rouge_l", bootstrap_samples=20).compute(oracle).score == pytest.approx(1.0)
    assert get_metric("cider", bootstrap_samples=20).compute(oracle[:1]).score == 0.0  # corpus IDF


def test_bleu_statistics_rules():
    # closest reference length, the shorter on a tie: hypothesis of 3 words, references of 2 and 4
    row = bleu_statistics("a b c", ["a b", "a b c d"])
    assert row[1] == 2
    # clipped unigram matches: "the" counted at most twice (max count over references)
    row = bleu_statistics("the the the cat", ["the cat the", "a cat"])
    assert row[6] == 3  # 2 x "the" + "cat"
    assert bleu_score(np.stack([row, row]), 1) == pytest.approx(bleu_score(row, 1))
    with pytest.raises(ValueError):
        bleu_statistics("a", [])


def test_bleu_sufficient_statistics_match_the_score(flickr_items):
    metric = get_metric("bleu4", tokenizer="python", bootstrap_samples=20)
    stats, aggregate = metric.sufficient_statistics(flickr_items[:80])
    assert aggregate(stats) == pytest.approx(metric.compute(flickr_items[:80]).score)


def test_python_tokenizer_fallback_is_close_and_says_so(flickr_items):
    before = java_launches()
    result = get_metric("cider", tokenizer="python", bootstrap_samples=20).compute(flickr_items)
    assert java_launches() == before
    assert "pure-Python" in result.definition["tokenizer_used"]
    if ptb_unavailable_reason() is None:
        java = get_metric("cider", tokenizer="ptb", bootstrap_samples=20).compute(flickr_items)
        assert result.score == pytest.approx(java.score, rel=0.01)


def test_missing_reference_is_an_error():
    with pytest.raises(ValueError, match="sample 'x'.*references"):
        get_metric("cider", tokenizer="python").compute([ScoringInput("x", "a dog", ())])


def test_spice_and_spider_report_why_they_are_unavailable(flickr_items):
    spice = get_metric("spice").compute(flickr_items[:5])
    if spice.unavailable is None:
        pytest.skip("SPICE runs on this machine")
    assert spice.score is None and spice.ci is None
    assert "stanford-corenlp-3.6.0" in spice.unavailable or "java" in spice.unavailable
    spider = get_metric("spider").compute(flickr_items[:5])
    assert spider.score is None and "SPICE" in spider.unavailable


@needs_java
def test_meteor_equals_pycocoevalcap():
    from pycocoevalcap.meteor.meteor import Meteor

    items = [
        ScoringInput("a", "A man is riding a horse.", ("A man rides a horse.", "A person on a horse.")),
        ScoringInput("b", "A dog runs on the beach.", ("A cat sleeps on a sofa.",)),
        ScoringInput("c", "Two children are playing football.", ("Two kids play soccer in a park.",)),
    ]
    result = get_metric("meteor", bootstrap_samples=50).compute(items)
    if result.unavailable:
        pytest.skip(result.unavailable)
    corpus = tokenize_corpus(items, "ptb")
    gts = {i: refs for i, refs in enumerate(corpus.references)}
    res = {i: [h] for i, h in enumerate(corpus.hypotheses)}
    score, each = Meteor().compute_score(gts, res)
    assert result.score == pytest.approx(score, abs=1e-12)
    assert result.per_sample == pytest.approx(list(each), abs=1e-12)
    assert result.per_sample[0] > result.per_sample[1]


@needs_java
def test_published_video_llama_audiocaps(shared_data):
    path = shared_data / "published_outputs" / "video_llama_aveb" / "audiocaps.json"
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    rows = json.loads(path.read_text())
    items = [ScoringInput(str(i), r["gen_answer"], (r["answer"],)) for i, r in enumerate(rows)]
    _, _, ref = _coco_reference(items)
    cider = get_metric("cider", bootstrap_samples=200).compute(items)
    bleu4 = get_metric("bleu4", bootstrap_samples=200).compute(items)
    assert cider.n == 938
    assert cider.score == pytest.approx(ref["cider"], rel=1e-12)
    assert bleu4.score == pytest.approx(ref["bleu"][3], rel=1e-9)
    assert cider.ci[0] < cider.score < cider.ci[1]
