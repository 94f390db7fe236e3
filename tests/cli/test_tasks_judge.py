"""`savbench tasks` says which tasks an LLM judge scores: AVEB's open-ended tasks (free-sentence
answers, ChatGPT-assisted scoring in the paper) lead with `llm_judge`, and every judged task
carries a deterministic string metric beside it."""

from __future__ import annotations

import json

import pytest

from savbench.cli import main
from savbench.metrics import get_metric
from savbench.tasks import TaskRegistry, default_search_paths

# AVEB's cross-modal tasks whose references are free sentences (the catalogue's judge rows).
AVEB_JUDGED = {"aveb_avsd", "aveb_avssd", "aveb_isqa"}


@pytest.fixture(scope="module")
def registry() -> TaskRegistry:
    return TaskRegistry(default_search_paths())


def judged(task) -> bool:
    return any(getattr(get_metric(m.name), "needs_judge", False) for m in task.spec.metrics)


def test_judged_tasks_are_marked_in_the_listing(
    registry: TaskRegistry, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no cell cut to fit a narrow terminal
    assert main(["tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = set()
    for name, task in registry.tasks.items():
        cells = next(line.split() for line in lines if line.startswith(name + " "))
        metrics = cells[2].split(",")
        assert [m.rstrip("*") for m in metrics] == [m.name for m in task.spec.metrics], name
        if any(m.endswith("*") for m in metrics):
            marked.add(name)
            assert all(m.endswith("*") == (m == "llm_judge*") for m in metrics), name
    assert marked == {name for name, task in registry.tasks.items() if judged(task)}
    assert AVEB_JUDGED <= marked and not {t for t in marked if t.startswith("aveb_")} - AVEB_JUDGED
    assert any(line.startswith("* scored by an LLM judge") and "--judge-model" in line for line in lines)

    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["task"] for r in rows if r["judge_scored"]} == marked


def test_judged_tasks_lead_with_the_judge_and_keep_a_deterministic_metric(registry: TaskRegistry) -> None:
    tasks = [task for task in registry.tasks.values() if judged(task)]
    assert {t.name for t in tasks} >= AVEB_JUDGED
    for task in tasks:
        assert task.spec.primary_metric.name == "llm_judge", task.name  # the judge is the default score
        beside = [m.name for m in task.spec.metrics if not getattr(get_metric(m.name), "needs_judge", False)]
        assert beside, f"{task.name} has no deterministic metric beside the judge"
