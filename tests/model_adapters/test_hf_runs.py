"""`savbench run` end to end with each transformers adapter's tiny model on the bundled mini tasks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from savbench._errors import RunError
from savbench.cli import main
from savbench.runner import RunConfig, run

pytest.importorskip("transformers")
pytest.importorskip("torchvision")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


def check_report(results: dict, tasks: list[str], consumed: dict[str, list[str]]) -> None:
    assert list(results["tasks"]) == tasks
    for name, section in results["tasks"].items():
        assert section["n_scored"] == 2 and section["n_errors"] == 0, section["errors_by_kind"]
        scores = [m["score"] for m in section["metrics"].values() if m.get("unavailable") is None]
        assert scores and all(s is not None for s in scores)
        assert section["modalities_consumed"] == consumed[name]


@pytest.mark.parametrize(
    ("model", "tasks", "allow_missing", "consumed"),
    [
        (
            "qwen2.5-omni",
            ["mini_avqa", "mini_isqa"],
            False,
            {"mini_avqa": ["speech", "video"], "mini_isqa": ["image", "speech"]},
        ),
        ("qwen2-audio", ["mini_asr"], False, {"mini_asr": ["speech"]}),
        ("llava-onevision", ["mini_videoqa"], False, {"mini_videoqa": ["video"]}),
        # mini_isqa asks its question aloud; InstructBLIP sees the picture and the option list only.
        ("instructblip", ["mini_isqa"], True, {"mini_isqa": ["image"]}),
    ],
)
def test_run_scores_mini_tasks(
    tmp_path: Path, model: str, tasks: list[str], allow_missing: bool, consumed: dict[str, list[str]]
) -> None:
    config = RunConfig(
        model=model,
        tasks=tasks,
        model_args={"preset": "tiny", "device": "cpu"},
        limit=2,
        batch_size=2,
        output_dir=tmp_path,
        num_workers=0,
        progress=False,
        bootstrap_samples=50,
        allow_missing_modalities=allow_missing,
    )
    outcome = run(config)
    check_report(outcome.results, tasks, consumed)
    assert outcome.results["model"]["fingerprint"]["weights"]["preset"] == "tiny"


def test_cli_run_with_whisper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run", "--model", "whisper", "--model-args", "preset=tiny,device=cpu", "--tasks", "mini_asr",
            "--limit", "2", "--output-dir", str(tmp_path), "--num-workers", "0", "--no-progress",
            "--bootstrap", "50",
        ]
    )  # fmt: skip
    assert code == 0
    assert "mini_asr" in capsys.readouterr().out
    (results,) = tmp_path.glob("whisper-*/results.json")
    import json

    check_report(json.loads(results.read_text()), ["mini_asr"], {"mini_asr": ["speech"]})


@pytest.mark.parametrize(
    ("model", "task", "message"),
    [
        ("whisper", "mini_videoqa", "model 'whisper' takes speech; mini_videoqa needs video"),
        ("instructblip", "mini_isqa", "model 'instructblip' takes image; mini_isqa needs speech"),
        ("llava-onevision", "mini_avsr", "mini_avsr needs speech"),
    ],
)
def test_tasks_with_streams_the_model_cannot_take_are_refused(
    tmp_path: Path, model: str, task: str, message: str
) -> None:
    config = RunConfig(
        model=model, tasks=[task], model_args={"preset": "tiny"}, output_dir=tmp_path, progress=False
    )
    with pytest.raises(RunError, match="--allow-missing-modalities") as caught:
        run(config)
    assert message in str(caught.value)
