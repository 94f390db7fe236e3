"""Decoding ahead of the model: one set of workers for all tasks, the adapter's worker-side
preparation, a GPU per rank, and timing figures that say what they measure."""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from savbench.adapters import GenerationSettings, Request
from savbench.data import Sample
from savbench.runner import (
    TIMING_DEFINITIONS,
    RequestDataset,
    RequestPlan,
    RunConfig,
    World,
    iterate_decoded,
    pin_cuda_device,
    plan_batches,
    run,
)
from tests.toy_tasks import make_toy_tasks


def text_plan(task: str, preprocess=None) -> RequestPlan:
    return RequestPlan(
        task=task,
        prompt_template="{question}",
        choice_format="lettered",
        decode_audio=False,
        audio_from_video=False,
        sample_rate=16000,
        max_audio_seconds=None,
        decode_video=False,
        video_settings={},
        decode_image=False,
        modalities=frozenset(),
        generation=GenerationSettings(),
        seed=0,
        preprocess=preprocess,
    )


def tag_with_pid(request: Request) -> Request:
    return dataclasses.replace(request, prompt=f"{request.prompt}@{os.getpid()}")


def fail_on_b(request: Request) -> Request:
    if request.sample.id == "b":
        raise RuntimeError("feature extraction broke")
    return request


def test_batches_never_mix_tasks_and_cover_every_sample_once() -> None:
    tasks = [[Sample(id=f"{t}{i}", task=t) for i in range(n)] for t, n in (("x", 5), ("y", 3))]
    cost = {f"x{i}": (5 - i) for i in range(5)} | {f"y{i}": i for i in range(3)}
    samples, owner, batches = plan_batches(tasks, 2, cost=lambda s: cost[s.id])
    assert [[samples[i].id for i in b] for b in batches] == [
        ["x4", "x3"],
        ["x2", "x1"],
        ["x0"],
        ["y0", "y1"],
        ["y2"],
    ]
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert all(len({owner[i] for i in b}) == 1 for b in batches)


def test_one_set_of_workers_decodes_every_task_in_order() -> None:
    samples = [Sample(id=str(i), task="x" if i < 5 else "y", question=f"q{i}") for i in range(9)]
    plans = [text_plan(s.task, tag_with_pid) for s in samples]
    batches = [[0, 1], [2, 3], [4], [5, 6], [7, 8]]
    out = list(iterate_decoded(RequestDataset(samples, plans), batches, num_workers=1))
    prompts = [d.item.prompt for batch in out for d in batch]
    assert [p.split("@")[0] for p in prompts] == [f"q{i}" for i in range(9)]
    pids = {int(p.split("@")[1]) for p in prompts}
    assert len(pids) == 1 and pids != {os.getpid()}  # one worker process served both tasks
    assert all("prepare_s" in d.timings for batch in out for d in batch)
    inline = list(iterate_decoded(RequestDataset(samples, plans), batches, num_workers=0))
    assert {d.item.prompt.split("@")[1] for b in inline for d in b} == {str(os.getpid())}


def test_a_failing_preparation_costs_one_sample() -> None:
    samples = [Sample(id=i, task="x") for i in "abc"]
    (batch,) = iterate_decoded(RequestDataset(samples, text_plan("x", fail_on_b)), [[0, 1, 2]], num_workers=0)
    assert [type(d.item).__name__ for d in batch] == ["Request", "DecodeFailure", "Request"]
    assert batch[1].item.kind == "prepare" and "feature extraction broke" in batch[1].item.message


def test_each_rank_takes_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    assert pin_cuda_device(World(rank=0, size=1)) is None
    chosen: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    assert pin_cuda_device(World(rank=3, size=4, local_rank=3)) == 1
    assert chosen == [1]


SLOW_ADAPTER = textwrap.dedent(
    """
    import os, time
    from savbench.adapters import Adapter

    def mark(request):
        request.sample.meta["prepared_in"] = os.getpid()
        return request

    class Slow(Adapter):
        name = "slow"
        modalities = frozenset({"speech", "audio", "video", "image"})
        max_batch_size = 4
        seen = []

        def worker_preprocessor(self):
            return mark

        def generate(self, requests):
            time.sleep(0.05)
            self.seen.extend(r.sample.meta.get("prepared_in") for r in requests)
            return [r.sample.references[0] if r.sample.references else "" for r in requests]
    """
)


def test_timing_separates_the_adapter_from_the_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow_adapter.py").write_text(SLOW_ADAPTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SAVBENCH_ADAPTERS", "slow=slow_adapter:Slow")
    toy = make_toy_tasks(tmp_path / "toy", n=8)
    config = RunConfig(model="slow", tasks=["toy"], include_paths=[str(toy)], output_dir=tmp_path / "out",
                       num_workers=1, batch_size=4, progress=False, bootstrap_samples=50)  # fmt: skip
    started = time.perf_counter()
    outcome = run(config)
    elapsed = time.perf_counter() - started
    timing = outcome.results["timing"]
    import slow_adapter

    assert slow_adapter.Slow.seen and all(pid not in (None, os.getpid()) for pid in slow_adapter.Slow.seen)
    sizes = [section["n_samples"] for section in outcome.results["tasks"].values()]
    assert outcome.results["adapter_calls"]["calls"] == sum(-(-n // 4) for n in sizes)
    assert timing["adapter_s"] >= 0.05 * outcome.results["adapter_calls"]["calls"]
    assert timing["adapter_s"] <= timing["generation_s"] <= timing["wall_s"] <= elapsed
    expected = 1 - timing["adapter_s"] / timing["generation_s"]
    assert timing["harness_overhead_fraction"] == pytest.approx(expected, abs=1e-3)
    parts = timing["setup_s"] + timing["model_load_s"] + timing["generation_s"] + timing["scoring_s"]
    assert parts <= timing["wall_s"] + 1e-3
    assert set(TIMING_DEFINITIONS) <= set(timing["definitions"])
    results = json.loads(next((tmp_path / "out").glob("*/results.json")).read_text())
    assert results["timing"]["definitions"]["harness_overhead_fraction"].startswith(
        "1 - adapter_s / generation_s"
    )
