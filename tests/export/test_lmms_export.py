"""``savbench export lmms-eval``: the files, the hooks, and an lmms-eval run that matches ``savbench run``."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from savbench.cli import main
from savbench.data import load_task_data
from savbench.export import ExportedTasks, export_lmms_eval
from savbench.media import load_audio, load_image
from savbench.runner import RunConfig, run
from savbench.tasks import TaskRegistry, render_prompt

HAVE_LMMS = importlib.util.find_spec("lmms_eval") is not None


class _Loader(yaml.SafeLoader):
    """Reads lmms-eval YAML: ``!function utils.x`` becomes the string ``function:utils.x``."""


_Loader.add_constructor("!function", lambda loader, node: "function:" + loader.construct_scalar(node))


def read_task_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def load_utils(folder: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"exported_utils_{abs(hash(folder))}", folder / "utils.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(folder: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{task}.jsonl").read_text().splitlines()]


def test_export_writes_lmms_eval_tasks(tmp_path: Path) -> None:
    written = export_lmms_eval(["mini_asr", "mini_audiocaps", "mini_isqa"], tmp_path / "out")
    out = tmp_path / "out"
    assert [t.name for t in written] == ["mini_asr", "mini_audiocaps", "mini_isqa"]
    assert {p.name for p in out.iterdir()} >= {
        "utils.py",
        "savbench_export.json",
        "mini_asr.yaml",
        "mini_asr.jsonl",
    }
    registry = TaskRegistry()
    asr = read_task_yaml(out / "mini_asr.yaml")
    assert asr["task"] == "mini_asr" and asr["output_type"] == "generate_until"
    assert asr["dataset_path"] == "json" and asr["test_split"] == "test"
    assert Path(asr["dataset_kwargs"]["data_files"]["test"]) == out / "mini_asr.jsonl"
    assert asr["doc_to_visual"] == "function:utils.doc_to_visual"
    assert asr["generation_kwargs"] == {
        "max_new_tokens": 64,
        "temperature": 0.0,
        "top_p": 1.0,
        "num_beams": 1,
        "do_sample": False,
    }
    assert asr["metric_list"] == [
        {"metric": "wer", "aggregation": "function:utils.aggregate", "higher_is_better": False}
    ]
    caps = read_task_yaml(out / "mini_audiocaps.yaml")
    assert [m["metric"] for m in caps["metric_list"]] == [
        m.name for m in registry.tasks["mini_audiocaps"].spec.metrics
    ]
    assert all(m["higher_is_better"] for m in caps["metric_list"])
    samples = load_task_data(registry.tasks["mini_isqa"]).samples
    exported = rows(out, "mini_isqa")
    assert [r["id"] for r in exported] == [s.id for s in samples]
    assert exported[0]["references"] == list(samples[0].references)
    manifest = json.loads((out / "savbench_export.json").read_text())
    assert manifest["tasks"]["mini_isqa"]["samples"] == len(samples) and manifest["video"] == "frames"


def test_exported_hooks_use_savbench_decoding_and_prompts(tmp_path: Path) -> None:
    export_lmms_eval(["mini_isqa"], tmp_path)
    utils = load_utils(tmp_path)
    task = TaskRegistry().tasks["mini_isqa"]
    sample = load_task_data(task).samples[1]
    doc = rows(tmp_path, "mini_isqa")[1]
    prompt = render_prompt(
        task.spec.prompt,
        question=sample.question,
        choices=sample.choices,
        choice_format=task.spec.choice_format,
    )
    assert utils.doc_to_text(doc) == prompt
    assert utils.doc_to_text(doc, {"pre_prompt": "<", "post_prompt": ">"}) == f"<{prompt}>"
    assert utils.doc_to_target(doc) == sample.references[0]
    image, audio = utils.doc_to_visual(doc)
    np.testing.assert_array_equal(np.asarray(image), load_image(sample.image))
    assert audio["sampling_rate"] == 16000
    np.testing.assert_array_equal(audio["array"], load_audio(sample.audio, sample_rate=16000))
    (message,) = utils.doc_to_messages(doc)
    assert [p["type"] for p in message["content"]] == ["image", "audio", "text"]


def test_exported_scores_match_savbench_run(tmp_path: Path) -> None:
    # The oracle's answers scored through the exported hooks give savbench's own numbers.
    outcome = run(
        RunConfig(
            model="oracle",
            tasks=["mini_asr", "mini_avqa"],
            limit=3,
            output_dir=tmp_path / "runs",
            num_workers=0,
            progress=False,
            bootstrap_samples=50,
        )
    )
    export_lmms_eval(["mini_asr", "mini_avqa"], tmp_path / "out", bootstrap_samples=50)
    hooks = ExportedTasks(tmp_path / "out")
    for name in ("mini_asr", "mini_avqa"):
        task = TaskRegistry().tasks[name]
        items = []
        for doc in rows(tmp_path / "out", name)[:3]:
            wrong = "nothing like it" if doc["id"].endswith("1") else doc["references"][0]
            items.extend(hooks.process_results(doc, [f"  {wrong}  "]).values())
        key = task.spec.metrics[0].name
        mixed = hooks.aggregate(items)
        perfect = hooks.aggregate(
            [
                v
                for doc in rows(tmp_path / "out", name)[:3]
                for v in hooks.process_results(doc, [doc["references"][0]]).values()
            ]
        )
        assert perfect == pytest.approx(outcome.results["tasks"][name]["metrics"][key]["score"])
        assert mixed != perfect


def test_a_task_changed_after_export_is_refused(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    shutil.copytree(Path(__file__).resolve().parents[2] / "tasks" / "mini", tasks / "mine")
    for spec in (tasks / "mine").glob("mini_*.yaml"):
        spec.write_text(
            spec.read_text().replace("task: mini_", "task: mine_").replace("groups: [mini]", "groups: []")
        )
    export_lmms_eval(["mine_asr"], tmp_path / "out", include_paths=[str(tasks)])
    doc = rows(tmp_path / "out", "mine_asr")[0]
    assert "Transcribe" in ExportedTasks(tmp_path / "out").doc_to_text(doc)
    spec = tasks / "mine" / "mini_asr.yaml"
    spec.write_text(spec.read_text().replace("Transcribe the speech into text.", "Write down what is said."))
    with pytest.raises(RuntimeError, match="changed since it was exported"):
        ExportedTasks(tmp_path / "out").doc_to_text(doc)


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "lmms-eval", str(tmp_path), "--tasks", "mini_asr,mini_isqa"]) == 0
    printed = capsys.readouterr().out
    assert "mini_isqa" in printed and f"--include_path {tmp_path}" in printed
    assert main(["export", "lmms-eval", str(tmp_path), "--tasks", "no_such_task"]) == 2
    assert "unknown task or group 'no_such_task'" in capsys.readouterr().err


@pytest.fixture
def lmms_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    yield


@pytest.mark.skipif(not HAVE_LMMS, reason="lmms-eval is not installed (lmms extra)")
def test_lmms_eval_run_of_exported_tasks_matches_savbench_run(tmp_path: Path, lmms_env: None) -> None:
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    from tests.model_adapters import lmms_echo

    lmms_echo.register()
    tasks = ["mini_asr", "mini_avqa", "mini_isqa"]
    ours = run(
        RunConfig(
            model="lmms:savbench_echo",
            tasks=tasks,
            limit=2,
            output_dir=tmp_path / "runs",
            num_workers=0,
            progress=False,
            bootstrap_samples=50,
        )
    )
    predictions = {
        (r["task"], r["id"]): r["prediction"]
        for r in map(json.loads, (ours.run_dir / "samples.jsonl").read_text().splitlines())
    }
    export_lmms_eval(tasks, tmp_path / "out", bootstrap_samples=50)
    manager = TaskManager("WARNING", include_path=str(tmp_path / "out"))
    theirs = simple_evaluate(
        model=lmms_echo.NAME,
        tasks=tasks,
        limit=2,
        task_manager=manager,
        log_samples=True,
        bootstrap_iters=0,
        verbosity="WARNING",
    )
    assert theirs is not None
    seen = {}
    for task, samples in theirs["samples"].items():
        for sample in samples:
            (answer,) = sample["filtered_resps"]
            seen[(task, sample["doc"]["id"])] = answer
    assert seen == predictions
    assert any(" video:8x" in p for p in seen.values()) and any(" image:" in p for p in seen.values())
    for task in tasks:
        for key, metric in ours.results["tasks"][task]["metrics"].items():
            assert theirs["results"][task][f"{key},none"] == pytest.approx(metric["score"])
