"""End to end: tasks -> decoding -> adapter -> store -> scores -> report, with baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench._errors import RunError
from savbench.runner import RunConfig, run
from tests.toy_tasks import make_toy_tasks


def config(root: Path, model: str, **kwargs) -> RunConfig:
    defaults = dict(tasks=["toy"], include_paths=[str(root)], output_dir=root / "out", num_workers=0, progress=False,
                    bootstrap_samples=200)  # fmt: skip
    return RunConfig(model=model, **{**defaults, **kwargs})


def samples_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_tasks(tmp_path_factory.mktemp("toy"), n=8, bad_media=True)


def test_oracle_reaches_every_best_value_and_bad_media_become_error_rows(toy: Path) -> None:
    outcome = run(config(toy, "oracle", run_name="oracle"))
    tasks = outcome.results["tasks"]
    assert tasks["toy_asr"]["metrics"]["wer"]["score"] == 0.0
    assert tasks["toy_mc"]["metrics"]["accuracy"]["score"] == 100.0
    assert tasks["toy_yn"]["metrics"]["accuracy"]["score"] == 100.0
    assert tasks["toy_asr"]["n_errors"] == 1 and tasks["toy_mc"]["n_errors"] == 2
    assert tasks["toy_asr"]["n_scored"] == 8 and tasks["toy_mc"]["n_scored"] == 8
    errors = {row["id"]: row["error"] for row in samples_of(outcome.run_dir) if row["error"]}
    assert set(errors) == {"asr-empty", "mc-truncated", "mc-no-audio"}
    assert "empty.wav" in errors["asr-empty"]["message"]
    assert "truncated.mp4" in errors["mc-truncated"]["message"]
    assert "silent.mp4" in errors["mc-no-audio"]["message"]
    results = json.loads((outcome.run_dir / "results.json").read_text())
    assert results["model"]["name"] == "oracle" and results["environment"]["packages"]["savbench"]
    assert results["tasks"]["toy_asr"]["metrics"]["wer"]["definition"]["normalizer"] == "whisper_en+basic"


def test_chance_is_near_one_in_k_and_seeded(toy: Path) -> None:
    first = run(config(toy, "chance", run_name="chance-a", seed=1)).results["tasks"]
    again = run(config(toy, "chance", run_name="chance-b", seed=1)).results["tasks"]
    assert first["toy_mc"]["metrics"]["accuracy"]["score"] == again["toy_mc"]["metrics"]["accuracy"]["score"]
    assert first["toy_asr"]["metrics"]["wer"]["score"] == 100.0  # empty answers to free text


def test_rerun_resumes_without_recomputing(toy: Path) -> None:
    first = run(config(toy, "oracle", run_name="resume", limit=3, output_dir=toy / "out-resume"))
    assert first.results["timing"]["samples_processed"] == 9
    second = run(config(toy, "oracle", run_name="resume", output_dir=toy / "out-resume"))
    # 9 + 10 + 8 samples in all; the 3 + 3 + 3 done by the limited run are not run again
    assert second.results["timing"]["samples_processed"] == 27 - 9
    ids = [(r["task"], r["id"]) for r in samples_of(second.run_dir)]
    assert len(ids) == len(set(ids)) == 27


def test_predictions_are_reused_across_runs_with_the_same_key(toy: Path) -> None:
    run(config(toy, "oracle", run_name="first", output_dir=toy / "out-reuse"))
    again = run(config(toy, "oracle", run_name="second", output_dir=toy / "out-reuse"))
    assert again.results["timing"]["samples_processed"] == 3  # error rows are recomputed, not reused
    assert again.results["timing"]["reused_predictions"] == 24
    fresh = run(
        config(toy, "oracle", run_name="third", output_dir=toy / "out-reuse", reuse_predictions=False)
    )
    assert fresh.results["timing"]["samples_processed"] == 27


def test_batches_and_workers_give_the_same_report(toy: Path) -> None:
    a = run(config(toy, "chance", run_name="b1", seed=3)).results
    b = run(config(toy, "chance", run_name="b4", seed=3, batch_size=4, num_workers=2)).results
    for task in a["tasks"]:
        assert a["tasks"][task]["predictions_sha256"] == b["tasks"][task]["predictions_sha256"]


def test_strict_stops_at_first_error_and_keeps_rows(toy: Path) -> None:
    with pytest.raises(RunError, match="--strict: toy_asr/asr-empty"):
        run(config(toy, "oracle", run_name="strict", strict=True))
    stored = (toy / "out" / "strict" / "predictions" / "rank-0.jsonl").read_text().splitlines()
    assert len(stored) >= 9


def test_unknown_model_and_task_are_clear(toy: Path) -> None:
    with pytest.raises(RunError, match="unknown model 'nope'"):
        run(config(toy, "nope"))
    with pytest.raises(RunError, match="unknown task or group 'missing'"):
        run(config(toy, "oracle", tasks=["missing"]))


def test_modality_refusal_names_the_streams(
    toy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = tmp_path / "speech_only_adapter.py"
    module.write_text(
        "from savbench.adapters import Adapter\n"
        "class SpeechOnly(Adapter):\n"
        "    modalities = frozenset({'speech'})\n"
        "    def generate(self, requests):\n"
        "        return ['x' for _ in requests]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SAVBENCH_ADAPTERS", "speech-only=speech_only_adapter:SpeechOnly")
    with pytest.raises(
        RunError, match=r"toy_mc needs audio, video; toy_yn needs image.*--allow-missing-modalities"
    ):
        run(config(toy, "speech-only"))
    outcome = run(config(toy, "speech-only", tasks=["toy_asr"], run_name="speech"))
    assert outcome.results["tasks"]["toy_asr"]["modalities_consumed"] == ["speech"]


def test_unwritable_output_fails_before_any_compute(toy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot write to the output folder"):
        run(config(toy, "oracle", output_dir=blocker / "sub"))
