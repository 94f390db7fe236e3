"""A metric that scored no sample (SPICE without Java, a judge that never answered) compares as
"no score", never as NaN: NaN is no JSON and no number a reader can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench.cli import main
from savbench.compare import compare_runs
from savbench.report import load_run
from tests.run_factory import make_run


def run_with(folder: Path, predictions: list[str]) -> Path:
    refs = ["a dog barks", "rain falls", "a car passes"]
    samples = [
        {"task": "caps", "id": f"s{i}", "prediction": p, "references": [r], "error": None,
         "scores": {"spice": None, "exact_match": float(p == r)}}
        for i, (p, r) in enumerate(zip(predictions, refs, strict=True))
    ]  # fmt: skip
    tasks = {"caps": {"spice": {"score": None}, "exact_match": {"score": 100 * sum(s["scores"]["exact_match"] for s in samples) / 3}}}  # fmt: skip
    return make_run(folder, "m", tasks, samples=samples)


def test_metric_without_any_score_is_reported_as_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = run_with(tmp_path / "a", ["a dog barks", "rain falls", "x"])
    b = run_with(tmp_path / "b", ["a dog barks", "y", "z"])
    by_metric = {c.metric: c for c in compare_runs(load_run(a), load_run(b), resamples=50)}
    spice = by_metric["spice"]
    assert (spice.score_a, spice.score_b, spice.difference, spice.p_value) == (None, None, None, None)
    assert spice.test.startswith("none") and not spice.significant
    exact = by_metric["exact_match"]  # the other metric of the task is still compared
    assert exact.score_a == pytest.approx(200 / 3) and exact.score_b == pytest.approx(100 / 3)
    assert (exact.a_better, exact.b_better) == (1, 0)

    def refuse(token: str) -> float:
        raise AssertionError(f"{token} in JSON output")

    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--json", "--resamples", "50"]) == 0
    rows = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert {r["metric"]: r["score_a"] for r in rows} == {"spice": None, "exact_match": pytest.approx(200 / 3)}
    assert main(["compare", str(a), str(b), "--resamples", "50"]) == 0
    assert "nan" not in capsys.readouterr().out.lower()
