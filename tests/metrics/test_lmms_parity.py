"""WER parity with lmms-eval's own LibriSpeech scoring, when lmms-eval is installed (the lmms extra)."""

from __future__ import annotations

import contextlib
import io

import pytest

from savbench.metrics import ScoringInput, get_metric

PAIRS = [
    ("<|en|> Hello , world !  It's  the colour of 25 kinda cause Mr. Smith.", "hello world its the color of twenty five kind of because mister smith"),
    ("He's got ten thousand dollars ($10,000) [laughs] um", "he has got 10000 dollars"),
    ("I can't believe it's the 1960s!", "i cannot believe it is the nineteen sixties"),
    ("The theatre's centre, organised.", "the theater center organized"),
    ("won't gonna wanna 'cause", "will not going to want to because"),
    ("<|startoftranscript|><|en|>ONE OH ONE, two and a half", "101 2 and a half"),
    ("café naïve Œuvre ß", "cafe naive oeuvre ss"),
    ("Mrs. Dr. St. John jr.", "missus doctor saint john junior"),
    ("it's 3.5% of £20 million", "it is 3.5 percent of twenty million pounds"),
    ("he hoped there would be stew for dinner", "He hoped there'd be stew for dinner."),
]  # fmt: skip


def _lmms_wer(utils, pairs) -> float:
    results = [
        utils.librispeech_process_result({"gt": ref, "source": "librispeech", "task": "asr_en"}, [hyp])["wer"]
        for ref, hyp in pairs
    ]
    with contextlib.redirect_stdout(io.StringIO()):  # lmms-eval prints the first pair
        return utils.librispeech_wer(results, None)


def test_whisper_en_basic_wer_equals_lmms_eval():
    utils = pytest.importorskip("lmms_eval.tasks.librispeech.utils", reason="lmms-eval is not installed")
    metric = get_metric("wer", normalizer="whisper_en+basic", bootstrap_samples=10)
    items = [ScoringInput(str(i), hyp, (ref,)) for i, (ref, hyp) in enumerate(PAIRS)]
    assert metric.compute(items).score == _lmms_wer(utils, PAIRS)
    for i, pair in enumerate(PAIRS):
        assert metric.compute(items[i : i + 1]).score == _lmms_wer(utils, [pair]), pair
