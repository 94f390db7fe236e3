"""WER and CER: hand-worked examples, jiwer cross-check, options, empty references, published outputs."""

from __future__ import annotations

import json
import random

import jiwer
import numpy as np
import pytest

from savbench.metrics import ScoringInput, edit_distance, get_metric, get_normalizer


def _items(pairs, clusters=None):
    return [
        ScoringInput(
            sample_id=str(i),
            prediction=hyp,
            references=(ref,),
            cluster=None if clusters is None else clusters[i],
        )
        for i, (ref, hyp) in enumerate(pairs)
    ]


def test_hand_worked_single_utterance():
    # "sat"->"sit" is a substitution and the second "the" is deleted: 2 errors over 6 words
    result = get_metric("wer").compute(_items([("the cat sat on the mat", "the cat sit on mat")]))
    assert result.score == pytest.approx(100 * 2 / 6)
    assert result.per_sample == [pytest.approx(100 * 2 / 6)]
    assert result.direction == "lower" and result.scale == "percent"
    assert result.ci is None  # one utterance: no interval


def test_corpus_versus_macro():
    pairs = [("a b c", "a b x"), ("d", "e")]  # 1/3 and 1/1
    corpus = get_metric("wer").compute(_items(pairs))
    macro = get_metric("wer", aggregation="macro").compute(_items(pairs))
    assert corpus.score == pytest.approx(100 * 2 / 4)
    assert macro.score == pytest.approx((100 / 3 + 100) / 2)
    assert corpus.definition["aggregation"] == "corpus"
    assert macro.definition["aggregation"] == "macro"


def test_insertions_can_exceed_100():
    result = get_metric("wer").compute(_items([("a b", "x a y b z")]))
    assert result.score == pytest.approx(150.0)


def test_normalizer_option_changes_the_count():
    pairs = [("Hello, World!", "hello world")]
    assert get_metric("wer", normalizer="none").compute(_items(pairs)).score == pytest.approx(100.0)
    assert get_metric("wer").compute(_items(pairs)).score == 0.0


def test_first_reference_is_used():
    items = [ScoringInput(sample_id="s", prediction="a b", references=("a b", "x y"))]
    assert get_metric("wer").compute(items).score == 0.0


def test_empty_reference_after_normalisation():
    # "[noise]" normalises to nothing: its hypothesis words are insertions in the corpus numerator
    items = _items([("[noise]", "hello"), ("a b", "a b"), ("um", "")])
    result = get_metric("wer").compute(items)
    assert result.score == pytest.approx(100 * 1 / 2)
    assert result.per_sample == [100.0, 0.0, 0.0]
    assert result.definition["empty_references"] == 2
    only_empty = get_metric("wer").compute(_items([("[noise]", "hello")]))
    assert only_empty.score is None and "empty" in only_empty.unavailable


def test_bad_options_fail_loudly():
    with pytest.raises(ValueError, match="aggregation"):
        get_metric("wer", aggregation="mean")
    with pytest.raises(ValueError, match="unknown normalizer"):
        get_metric("wer", normalizer="nope")
    with pytest.raises(TypeError):
        get_metric("wer", normaliser="basic")


def test_sample_without_reference_is_an_error_naming_it():
    with pytest.raises(ValueError, match="sample 'q7'.*references"):
        get_metric("wer").compute([ScoringInput(sample_id="q7", prediction="a", references=())])


def test_definition_says_how_it_was_computed():
    definition = (
        get_metric("wer", seed=3, bootstrap_samples=50).compute(_items([("a b", "a"), ("c", "c")])).definition
    )
    for key in ("normalizer", "aggregation", "scale", "tokenizer", "ci_method", "bootstrap_samples", "seed"):
        assert key in definition
    assert definition["seed"] == 3 and definition["bootstrap_samples"] == 50


def test_cer_hand_worked_and_jiwer():
    result = get_metric("cer", normalizer="none").compute(_items([("ab cd", "abcd")]))
    assert result.score == pytest.approx(100 * 1 / 5)  # the space is a character
    assert result.score == pytest.approx(100 * jiwer.cer("ab cd", "abcd"))


def test_edit_distance():
    assert edit_distance(["a", "b", "c"], ["a", "c", "d"]) == 2
    assert edit_distance([], ["x"]) == 1


def test_sufficient_statistics_reproduce_the_score():
    pairs = [("a b c", "a b x"), ("d e", "e"), ("f", "f g h")]
    for aggregation in ("corpus", "macro"):
        metric = get_metric("wer", aggregation=aggregation)
        stats, aggregate = metric.sufficient_statistics(_items(pairs))
        assert aggregate(stats) == pytest.approx(metric.compute(_items(pairs)).score)


@pytest.fixture
def librispeech_finetuned(shared_data):
    path = shared_data / "published_outputs" / "video_llama_aveb" / "librispeech_finetuned.json"
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return json.loads(path.read_text())


def test_matches_jiwer_on_real_outputs(librispeech_finetuned):
    rng = random.Random(0)
    rows = rng.sample(librispeech_finetuned, 300)
    norm = get_normalizer("whisper_en+basic")
    refs = [norm(r["answer"]) for r in rows]
    hyps = [norm(r["gen_answer"]) for r in rows]
    keep = [i for i, r in enumerate(refs) if r]
    expected = jiwer.wer([refs[i] for i in keep], [hyps[i] for i in keep]) * 100
    items = [ScoringInput(str(i), rows[i]["gen_answer"], (rows[i]["answer"],)) for i in keep]
    assert get_metric("wer", bootstrap_samples=10).compute(items).score == pytest.approx(expected, rel=1e-12)


# Corpus WER that lmms-eval 0.7.2's own librispeech_process_result + librispeech_wer give on the
# published Video-LLaMA AVEB outputs (measured with lmms-eval installed in a separate environment).
LMMS_EVAL_WER = {"librispeech.json": 503.9413883493315, "librispeech_finetuned.json": 120.69323174986329}


@pytest.mark.parametrize("name", sorted(LMMS_EVAL_WER))
def test_published_video_llama_wer_equals_lmms_eval(shared_data, name):
    path = shared_data / "published_outputs" / "video_llama_aveb" / name
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    rows = json.loads(path.read_text())
    items = [ScoringInput(str(i), r["gen_answer"], (r["answer"],)) for i, r in enumerate(rows)]
    result = get_metric("wer", bootstrap_samples=200).compute(items)
    assert result.score == LMMS_EVAL_WER[name]  # bit-identical
    assert result.n == 2620
    assert result.ci[0] < result.score < result.ci[1]
    assert np.isfinite(result.per_sample).all()
