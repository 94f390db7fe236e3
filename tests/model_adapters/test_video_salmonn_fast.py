"""The video-SALMONN adapter's fast-path pieces: preparation in decoding workers, the generation
trace, fixed-length decoding and the LLM back-end choice."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from model_adapters.video_salmonn import (
    GenerationTrace,
    PreparedRequest,
    VideoSalmonnAdapter,
    VideoSalmonnTinyAdapter,
)
from savbench.adapters import SampleFailure
from savbench.runner import RunConfig, run
from tests.model_adapters.test_video_salmonn import make_request


@pytest.fixture(scope="module")
def adapter() -> VideoSalmonnTinyAdapter:
    return VideoSalmonnTinyAdapter(prepare_in_workers="true", min_new_tokens="6")


def test_worker_preparation_gives_the_same_answers(adapter: VideoSalmonnTinyAdapter) -> None:
    requests = [
        make_request(1, 30.0, max_new_tokens=8),
        make_request(2, 5.0, video=False, max_new_tokens=8),
        make_request(3, audio=False, video=False, image=True, max_new_tokens=8),
        make_request(4, audio=False, video=False, max_new_tokens=8),  # nothing to prepare
    ]
    prepare = pickle.loads(pickle.dumps(adapter.worker_preprocessor()))  # it travels to workers
    prepared = [prepare(r) for r in requests]
    assert [type(r) for r in prepared] == [
        PreparedRequest,
        PreparedRequest,
        PreparedRequest,
        type(requests[3]),
    ]
    assert prepared[0].video is None and prepared[0].prepared.pixels is not None

    def shown(outputs: list) -> list:
        return [o.message if isinstance(o, SampleFailure) else o for o in outputs]

    direct = adapter.generate(requests)
    assert shown(adapter.generate(prepared)) == shown(direct)
    mixed = [prepared[0], requests[1], prepared[2], requests[3]]
    assert shown(adapter.generate(mixed)) == shown(direct)
    assert all(isinstance(o, str) and o for o in direct[:3])
    assert isinstance(direct[3], SampleFailure) and "no audio, video or image" in direct[3].message


def test_trace_records_stages_and_tokens(adapter: VideoSalmonnTinyAdapter) -> None:
    requests = [make_request(10 + i, max_new_tokens=9) for i in range(3)]
    adapter.trace = GenerationTrace()
    try:
        answers = adapter.generate(requests)
        trace = adapter.trace
    finally:
        adapter.trace = None
    assert trace.batch_sizes == [3]
    for stage in ("prepare_s", "speech_encoder_s", "audio_encoder_s", "visual_encoder_s", "qformer_s"):
        assert trace.times[stage] > 0
    assert trace.times["llm_prefill_s"] > 0 and trace.times["llm_decode_s"] > 0
    for request, answer in zip(requests, answers, strict=True):
        tokens = trace.tokens[request.sample.id]
        assert adapter.model.decode_tokens(tokens) == answer


def test_fixed_length_decoding(adapter: VideoSalmonnTinyAdapter) -> None:
    adapter.trace = GenerationTrace()
    try:
        adapter.generate([make_request(20 + i, max_new_tokens=6) for i in range(4)])
        shorter = adapter.generate([make_request(30, max_new_tokens=3)])
        tokens = list(adapter.trace.tokens.values())
    finally:
        adapter.trace = None
    eos = adapter.model.tokenizer.eos_token_id
    # min_new_tokens=6 forbids end of sequence before 6 tokens, and never raises a request's budget.
    assert [len(t) for t in tokens] == [6, 6, 6, 6, 3]
    assert not any(eos in t for t in tokens) and isinstance(shorter[0], str)


def test_fingerprint_names_backend_and_length() -> None:
    fp = VideoSalmonnTinyAdapter(min_new_tokens="4").fingerprint()
    assert fp["backend"] == "hf" and fp["min_new_tokens"] == 4
    assert VideoSalmonnTinyAdapter().worker_preprocessor() is None  # CPU default: prepare in-process


def test_backend_errors_are_named() -> None:
    with pytest.raises(ValueError, match="backend must be one of hf, vllm"):
        VideoSalmonnAdapter(preset="tiny", device="cpu", backend="trt")
    with pytest.raises(ValueError, match="backend=vllm needs a CUDA device"):
        VideoSalmonnAdapter(preset="tiny", device="cpu", backend="vllm")
    with pytest.raises(ValueError, match="prepare_in_workers must be true or false"):
        VideoSalmonnTinyAdapter(prepare_in_workers="sometimes")


def test_runs_with_and_without_worker_preparation_agree(tmp_path: Path) -> None:
    def config(prepare: str) -> RunConfig:
        return RunConfig(model="video-salmonn-tiny", tasks=["mini_avqa", "mini_isqa"], limit=4, batch_size=4,
                         num_workers=1, output_dir=tmp_path, run_name=prepare, progress=False, reuse_predictions=False,
                         bootstrap_samples=20, model_args={"prepare_in_workers": prepare})  # fmt: skip

    a = run(config("false")).results["tasks"]
    b = run(config("true")).results["tasks"]
    assert a.keys() == b.keys()
    for task in a:
        assert a[task]["n_errors"] == 0 and a[task]["predictions_sha256"] == b[task]["predictions_sha256"]


def test_half_precision_models_get_half_precision_inputs_from_workers(
    adapter: VideoSalmonnTinyAdapter,
) -> None:
    import torch

    from model_adapters.video_salmonn import WorkerPrepare

    request = make_request(40, 6.0)
    full = adapter.worker_preprocessor()(request).prepared
    half = WorkerPrepare(adapter.model.preprocessor, 16000, torch.bfloat16)(request).prepared
    assert half.pixels.dtype == half.mel.dtype == torch.bfloat16 and half.waveforms[0].dtype == torch.float32
    # the encoders cast to the model dtype anyway: the values they see are unchanged
    assert torch.equal(half.pixels, full.pixels.to(torch.bfloat16))
    assert torch.equal(half.mel, full.mel.to(torch.bfloat16))
