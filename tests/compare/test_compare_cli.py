"""`savbench compare` as a user runs it: two chance runs with different seeds do not differ
significantly on a 400-sample task; oracle against chance does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from savbench.cli import main

N = 400
SPEC = """\
task: big_mc
description: Four-way multiple choice on tiny images, large enough for the tests to have power.
modalities: [image]
source: {kind: manifest, path: big.jsonl, media_root: media}
prompt: "{question}\\n{choices}\\nAnswer with the letter."
answer: multiple_choice
metrics: [{name: accuracy}]
"""


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    (root / "media").mkdir()
    Image.new("RGB", (8, 8), (90, 20, 200)).save(root / "media" / "x.png")
    (root / "big_mc.yaml").write_text(SPEC)
    choices = ["red", "green", "blue", "yellow"]
    rows = [{"id": f"q{i}", "image": "x.png", "question": f"Item {i}?", "choices": choices, "references": [choices[(7 * i) % 4]]}
            for i in range(N)]  # fmt: skip
    (root / "big.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def run_once(root: Path, name: str, model: str, seed: int) -> Path:
    argv = ["run", "--model", model, "--tasks", "big_mc", "--seed", str(seed), "--include-path", str(root),
            "--output-dir", str(root / "out"), "--run-name", name, "--no-progress", "--num-workers", "0",
            "--bootstrap", "100"]  # fmt: skip
    assert main(argv) == 0
    return root / "out" / name


@pytest.fixture(scope="module")
def runs(task_root: Path) -> dict[str, Path]:
    return {
        name: run_once(task_root, name, model, seed)
        for name, model, seed in [("chance1", "chance", 1), ("chance2", "chance", 2), ("oracle", "oracle", 0)]
    }


def compare(capsys: pytest.CaptureFixture[str], a: Path, b: Path) -> dict:
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--json", "--resamples", "500"]) == 0
    rows = json.loads(capsys.readouterr().out)
    rows = rows["comparisons"] if isinstance(rows, dict) else rows
    (row,) = [r for r in rows if r["task"] == "big_mc" and r["metric"] == "accuracy"]
    return row


def test_two_chance_seeds_are_not_significantly_different(runs, capsys) -> None:
    row = compare(capsys, runs["chance1"], runs["chance2"])
    assert row["n_shared"] == N and row["test"].lower().startswith("mcnemar")
    for score in (row["score_a"], row["score_b"]):  # near 1 in 4, in percent
        assert 18 < score < 32
    assert row["p_value"] >= 0.05
    assert row["ci"][0] <= 0 <= row["ci"][1]
    assert row["a_better"] > 0 and row["b_better"] > 0
    # Counted again from the two samples.jsonl files, and the exact McNemar p from the binomial tail.
    right = [{r["id"]: r["scores"]["accuracy"] > 0 for r in map(json.loads, (runs[n] / "samples.jsonl").open())}
             for n in ("chance1", "chance2")]  # fmt: skip
    only_a = sum(right[0][i] and not right[1][i] for i in right[0])
    only_b = sum(right[1][i] and not right[0][i] for i in right[0])
    assert (row["a_better"], row["b_better"]) == (only_a, only_b)
    n, k = only_a + only_b, min(only_a, only_b)
    assert row["p_value"] == pytest.approx(min(1.0, 2 * sum(math.comb(n, j) for j in range(k + 1)) / 2**n))


def test_oracle_beats_chance_significantly(runs, capsys) -> None:
    row = compare(capsys, runs["oracle"], runs["chance1"])
    assert row["p_value"] < 0.001
    assert row["score_a"] == 100.0 and 18 < row["score_b"] < 32
    assert row["difference"] > 50 and row["ci"][0] > 0
    assert row["b_better"] == 0 and row["a_better"] > N // 2


def test_chance_against_chance_is_rejected_about_as_often_as_the_level_says(task_root, capsys) -> None:
    """Seeds 1 and 2 above are not a lucky pair: over ten more independent pairs of chance runs
    the test rejects at 5 % about as often as it should (expected 0.5 of 10; three or more
    would happen by luck about 1 time in 90) and its p-values are spread, not stuck at 1."""
    seeds = range(101, 121)
    folders = [run_once(task_root, f"chance_s{seed}", "chance", seed) for seed in seeds]
    rows = [compare(capsys, a, b) for a, b in zip(folders[::2], folders[1::2], strict=True)]
    p_values = [r["p_value"] for r in rows]
    assert sum(p < 0.05 for p in p_values) <= 2
    # exact McNemar is conservative (mean p above 0.5 under no difference), but not stuck near 1
    assert min(p_values) < 0.5 and 0.3 < sum(p_values) / len(p_values) < 0.9
    assert max(abs(r["difference"]) for r in rows) < 10  # points of accuracy, each run near 25


def test_table_marks_the_significant_difference_and_shows_the_counts(runs, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for a, b, significant in (("oracle", "chance1", True), ("chance1", "chance2", False)):
        capsys.readouterr()
        assert main(["compare", str(runs[a]), str(runs[b]), "--resamples", "200"]) == 0
        text = capsys.readouterr().out
        assert text.startswith(f"A = {a} (") and f"\nB = {b} (" in text
        row = next(line.split() for line in text.splitlines() if line.startswith("big_mc "))
        json_row = compare(capsys, runs[a], runs[b])
        assert row[1] == "accuracy" and row[2] == str(N)
        assert row[-1] == f"{json_row['a_better']}/{json_row['b_better']}"
        assert (row[-2] == "*") == significant
