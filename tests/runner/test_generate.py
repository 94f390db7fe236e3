"""Calling the adapter: per-sample failures, out-of-memory splitting, and adapters that break the contract."""

from __future__ import annotations

from typing import ClassVar

import pytest

from savbench.adapters import Adapter, Request, SampleFailure
from savbench.data import Sample
from savbench.runner._generate import GenerateStats, generate_batch


def requests(n: int) -> list[Request]:
    return [
        Request(sample=Sample(id=f"s{i}", task="t"), prompt=f"q{i}", modalities=frozenset()) for i in range(n)
    ]


class Scripted(Adapter):
    """Answers each prompt with itself, except where told to fail."""

    name: ClassVar[str] = "scripted"

    def __init__(
        self, *, oom_above: int = 10**6, oom_ids: frozenset[str] = frozenset(), outputs=None
    ) -> None:
        self.oom_above = oom_above
        self.oom_ids = oom_ids
        self.outputs = outputs
        self.batch_sizes: list[int] = []

    def generate(self, batch: list[Request]):  # type: ignore[override]
        self.batch_sizes.append(len(batch))
        if self.outputs is not None:
            return self.outputs(batch)
        if len(batch) > self.oom_above or any(r.sample.id in self.oom_ids for r in batch):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [r.prompt for r in batch]


def test_sample_failure_becomes_an_error_row_for_that_sample_only() -> None:
    adapter = Scripted(
        outputs=lambda b: [
            SampleFailure("api", "HTTP 500 three times") if r.sample.id == "s1" else r.prompt for r in b
        ]
    )
    outcomes = generate_batch(adapter, requests(3), GenerateStats())
    assert [o.prediction for o in outcomes] == ["q0", None, "q2"]
    assert (outcomes[1].error_kind, outcomes[1].error_message) == ("api", "HTTP 500 three times")
    assert adapter.batch_sizes == [3]  # a per-sample failure does not make the batch retry


def test_out_of_memory_halves_the_batch_down_to_one_then_records_the_sample() -> None:
    adapter = Scripted(oom_above=2, oom_ids=frozenset({"s5"}))
    stats = GenerateStats()
    outcomes = generate_batch(adapter, requests(8), stats)
    assert [o.request.sample.id for o in outcomes] == [f"s{i}" for i in range(8)]
    assert [o.prediction for o in outcomes] == ["q0", "q1", "q2", "q3", "q4", None, "q6", "q7"]
    assert outcomes[5].error_kind == "out_of_memory" and "out of memory" in outcomes[5].error_message
    assert adapter.batch_sizes[:3] == [8, 4, 2]
    assert 1 in adapter.batch_sizes and max(adapter.batch_sizes[1:]) <= 4
    assert stats.oom_retries >= 2


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (lambda b: ["x"], "returned 1 outputs for 2 requests"),
        (lambda b: "xy", "returned a str, not a list"),
        (lambda b: ["x", 3], "returned a int among its outputs"),
    ],
)
def test_contract_violations_are_named(outputs, message: str) -> None:
    stats = GenerateStats()
    with pytest.raises(ValueError, match=message):
        generate_batch(Scripted(outputs=outputs), requests(2), stats, strict=True)
    assert stats.contract_violations == 1
