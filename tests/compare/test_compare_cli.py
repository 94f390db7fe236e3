"""`savbench compare` as a user runs it: two chance runs with different seeds do not differ
significantly on a 400-sample task; oracle against chance does."""

from __future__ import annotations

import json
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
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    (root / "media").mkdir()
    Image.new("RGB", (8, 8), (90, 20, 200)).save(root / "media" / "x.png")
    (root / "big_mc.yaml").write_text(SPEC)
    choices = ["red", "green", "blue", "yellow"]
    rows = [{"id": f"q{i}", "image": "x.png", "question": f"Item {i}?", "choices": choices, "references": [choices[(7 * i) % 4]]}
            for i in range(N)]  # fmt: skip
    (root / "big.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = root / "out"
    folders = {}
    for name, model, seed in [("chance1", "chance", 1), ("chance2", "chance", 2), ("oracle", "oracle", 0)]:
        argv = [
            "run",
            "--model",
            model,
            "--tasks",
            "big_mc",
            "--seed",
            str(seed),
            "--include-path",
            str(root),
        ]
        argv += [
            "--output-dir",
            str(out),
            "--run-name",
            name,
            "--no-progress",
            "--num-workers",
            "0",
            "--bootstrap",
            "100",
        ]
        assert main(argv) == 0
        folders[name] = out / name
    return folders


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


def test_oracle_beats_chance_significantly(runs, capsys) -> None:
    row = compare(capsys, runs["oracle"], runs["chance1"])
    assert row["p_value"] < 0.001
    assert row["score_a"] == 100.0 and 18 < row["score_b"] < 32
    assert row["difference"] > 50 and row["ci"][0] > 0
    assert row["b_better"] == 0 and row["a_better"] > N // 2
