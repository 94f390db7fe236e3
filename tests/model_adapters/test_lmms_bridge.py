"""``--model lmms:NAME``: lmms-eval model classes on savbench tasks (needs the lmms extra)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from savbench._errors import RunError
from savbench.runner import RunConfig, run

HAVE_LMMS = importlib.util.find_spec("lmms_eval") is not None
needs_lmms = pytest.mark.skipif(not HAVE_LMMS, reason="lmms-eval is not installed (lmms extra)")


@pytest.fixture(scope="module")
def echo() -> Iterator[object]:
    from tests.model_adapters import lmms_echo

    lmms_echo.register()
    yield lmms_echo


def run_echo(tmp_path: Path, tasks: list[str], model: str = "lmms:savbench_echo", **kwargs: object) -> dict:
    config = RunConfig(
        model=model,
        tasks=tasks,
        limit=2,
        output_dir=tmp_path,
        num_workers=0,
        progress=False,
        bootstrap_samples=20,
        **kwargs,  # type: ignore[arg-type]
    )
    outcome = run(config)
    rows = [json.loads(line) for line in (outcome.run_dir / "samples.jsonl").read_text().splitlines()]
    return {"results": outcome.results, "rows": {(r["task"], r["id"]): r for r in rows}}


@pytest.mark.skipif(HAVE_LMMS, reason="checks the message shown without lmms-eval")
def test_without_lmms_eval_the_bridge_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"needs lmms-eval: pip install 'savbench\[lmms\]'"):
        run(RunConfig(model="lmms:qwen2_audio", tasks=["mini_asr"], output_dir=tmp_path, progress=False))


@needs_lmms
def test_lmms_model_gets_savbench_media(tmp_path: Path, echo) -> None:
    from savbench.data import load_task_data
    from savbench.media import load_audio
    from savbench.tasks import TaskRegistry

    out = run_echo(tmp_path, ["mini_asr", "mini_avqa", "mini_isqa"], model_args={"tag": "T"})
    registry = TaskRegistry()
    for task in ("mini_asr", "mini_avqa", "mini_isqa"):
        section = out["results"]["tasks"][task]
        assert section["n_scored"] == 2 and section["n_errors"] == 0
        for sample in load_task_data(registry.tasks[task]).samples[:2]:
            prediction = out["rows"][(task, sample.id)]["prediction"]
            assert prediction.startswith("T prompt:")
            ref = sample.audio or sample.video
            audio = load_audio(ref, sample_rate=16000)
            assert echo.describe({"array": audio, "sampling_rate": 16000}) in prediction
            if task == "mini_avqa":
                assert " video:8x128x128:" in prediction  # the task samples 8 frames
            if task == "mini_isqa":
                assert " image:128x128:" in prediction
    assert out["results"]["model"]["fingerprint"]["interface"] == "simple"


@needs_lmms
def test_ablated_audio_reaches_the_lmms_model_as_silence(tmp_path: Path, echo) -> None:
    full = run_echo(tmp_path / "full", ["mini_asr"])
    muted = run_echo(tmp_path / "muted", ["mini_asr"], ablate=("audio",))
    for key, row in muted["rows"].items():
        assert ":0.0000 " in row["prediction"]
        assert row["prediction"] != full["rows"][key]["prediction"]


@needs_lmms
def test_chat_models_get_the_same_media_as_messages(tmp_path: Path, echo) -> None:
    simple = run_echo(tmp_path / "simple", ["mini_isqa"])
    chat = run_echo(tmp_path / "chat", ["mini_isqa"], model="lmms:savbench_echo_chat")
    assert chat["results"]["model"]["fingerprint"]["interface"] == "chat"
    for key, row in chat["rows"].items():
        assert row["prediction"] == "chat " + simple["rows"][key]["prediction"]


@needs_lmms
def test_unknown_lmms_model_is_named(tmp_path: Path, echo) -> None:
    with pytest.raises(RunError, match="lmms-eval has no usable model 'no_such_model'"):
        run(RunConfig(model="lmms:no_such_model", tasks=["mini_asr"], output_dir=tmp_path, progress=False))
