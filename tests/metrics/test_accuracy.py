"""Accuracy, yes/no accuracy, exact match and VQA accuracy."""

from __future__ import annotations

import json

import pytest

from savbench.metrics import ScoringInput, get_metric

CHOICES = ("clap proudly", "the lady sitting down", "lay on floor", "just picked it up", "crawl")


def _mc(prediction: str, answer: str = "lay on floor", sid: str = "s") -> ScoringInput:
    return ScoringInput(sample_id=sid, prediction=prediction, references=(answer,), choices=CHOICES)


def test_multiple_choice_compares_options():
    items = [
        _mc("C", sid="a"),
        _mc("(C) lay on floor", sid="b"),
        _mc("Lay on floor.", sid="c"),
        _mc("E", sid="d"),
    ]
    result = get_metric("accuracy").compute(items)
    assert result.per_sample == [100.0, 100.0, 100.0, 0.0]
    assert result.score == pytest.approx(75.0)
    assert result.direction == "higher" and result.scale == "percent"
    assert result.details[3] == {"parsed": "crawl", "target": "lay on floor"}


def test_unparsed_outputs_are_wrong_and_counted():
    items = [_mc("C", sid="a"), _mc("I cannot tell from the video", sid="b")]
    result = get_metric("accuracy").compute(items)
    assert result.score == pytest.approx(50.0)
    assert result.definition["unparsed"] == 1
    assert result.details[1]["parsed"] is None


def test_reference_outside_the_choices_is_an_error_naming_the_sample():
    with pytest.raises(ValueError, match="sample 'bad'.*references.*'swim'"):
        get_metric("accuracy").compute([_mc("A", answer="swim", sid="bad")])


def test_yes_no_accuracy_is_accuracy_with_the_yes_no_parser():
    items = [
        ScoringInput("a", "Yes, the audio matches.", ("Yes",)),
        ScoringInput("b", "No.", ("Yes",)),
        ScoringInput("c", "no", ("No",)),
        ScoringInput("d", "Hard to say", ("No",)),
    ]
    via_alias = get_metric("yes_no_accuracy").compute(items)
    via_option = get_metric("accuracy", parser="yes_no").compute(items)
    assert via_alias.score == via_option.score == pytest.approx(50.0)
    assert via_alias.definition["unparsed"] == 1


def test_oracle_accuracy_on_real_nextqa_annotations(shared_data):
    path = shared_data / "savebench_annotations" / "nextqa_test.json"
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    rows = json.loads(path.read_text())[:300]
    items = [
        ScoringInput(str(i), r["answer"], (r["answer"],), tuple(r["answer_candidates"]))
        for i, r in enumerate(rows)
    ]
    letters = [
        ScoringInput(it.sample_id, "ABCDE"[it.choices.index(it.references[0])], it.references, it.choices)
        for it in items
    ]
    assert get_metric("accuracy", bootstrap_samples=50).compute(items).score == 100.0
    assert get_metric("accuracy", bootstrap_samples=50).compute(letters).score == 100.0


def test_exact_match_with_normaliser():
    items = [
        ScoringInput("a", "  The Dog. ", ("the dog",)),
        ScoringInput("b", "cat", ("dog", "Cat")),
        ScoringInput("c", "", ("dog",)),
    ]
    result = get_metric("exact_match").compute(items)
    assert result.per_sample == [100.0, 100.0, 0.0]
    assert result.definition["unparsed"] == 1
    strict = get_metric("exact_match", normalizer="none").compute(items)
    assert strict.per_sample == [0.0, 0.0, 0.0]


def test_vqa_accuracy_hand_worked():
    refs = ("dakota",) * 2 + ("other",) * 8
    item = [ScoringInput("a", "Dakota", refs)]
    # leave-one-out: 8 subsets keep both matches (2/3), 2 subsets keep one (1/3): mean 0.6
    assert get_metric("vqa_accuracy").compute(item).score == pytest.approx(60.0)
    assert get_metric("vqa_accuracy", leave_one_out=False).compute(item).score == pytest.approx(200 / 3)
    three = [ScoringInput("a", "dakota", ("dakota",) * 3 + ("x",) * 7)]
    # 7 subsets keep 3 matches (1.0), 3 keep 2 (2/3): mean 0.9
    assert get_metric("vqa_accuracy").compute(three).score == pytest.approx(90.0)


def test_vqa_accuracy_oracle_on_textvqa(shared_data):
    path = shared_data / "savebench_annotations" / "textvqa.json"
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    rows = json.loads(path.read_text())[:200]
    items = []
    for i, r in enumerate(rows):
        majority = max(set(r["answer"]), key=r["answer"].count)
        items.append(ScoringInput(str(i), majority, tuple(r["answer"])))
    result = get_metric("vqa_accuracy", bootstrap_samples=50).compute(items)
    # the majority answer is fully right whenever at least 4 annotators agree on it
    full = sum(max(r["answer"].count(a) for a in r["answer"]) >= 4 for r in rows)
    assert result.score >= 100 * full / len(rows) - 1e-9
    assert result.score <= 100.0
