"""The committed baseline of the deterministic tiny model on `mini`: CI fails when a change to
prompts, media decoding, the model or a metric moves any number or any prediction."""

from __future__ import annotations

import json
from pathlib import Path

from savbench.cli import main
from tests.conftest import REPO_ROOT

BASELINE = REPO_ROOT / "results" / "baselines" / "mini-video-salmonn-tiny.json"


def test_tiny_model_on_mini_matches_the_committed_baseline_exactly(tmp_path: Path, capsys) -> None:
    baseline = json.loads(BASELINE.read_text())
    config = baseline["config"]
    command = ["run", "--model", baseline["model"], "--tasks", ",".join(config["tasks"])]
    command += ["--limit", str(config["limit"]), "--seed", str(config["seed"])]
    command += ["--output-dir", str(tmp_path), "--run-name", "now", "--no-progress"]
    assert main(command) == 0
    capsys.readouterr()
    status = main(["check", str(tmp_path / "now"), "--against", str(BASELINE), "--exact"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    numbers = sum(m["score"] is not None for t in baseline["tasks"].values() for m in t["metrics"].values())
    assert numbers >= 11 and f"OK: {numbers} number(s) checked" in printed
