from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench.check import (
    Reference,
    check_run,
    references_from_file,
    references_from_published,
    write_baseline,
)
from savbench.cli import main
from savbench.leaderboard import PublishedNumber
from savbench.report import load_run
from tests.run_factory import make_run, metric


def ref(task: str, name: str, score: float, direction: str = "higher", scale: str = "percent") -> Reference:
    return Reference(task, name, score, scale, direction, "paper")


@pytest.fixture
def run(tmp_path: Path):
    return load_run(
        make_run(
            tmp_path / "run",
            "video-salmonn",
            {
                "asr": {"wer": metric(5.0, (4.0, 6.0), direction="lower")},
                "qa": {"accuracy": metric(50.0, (45.0, 55.0))},
            },
        )
    )


def status(report, task: str) -> str:
    return next(r.status for r in report.rows if r.task == task)


def test_direction_aware_with_ci_tolerance(run) -> None:
    # WER 5 with CI [4, 6]: a published 4.5 is inside the CI, 3.9 is beyond it (we are worse).
    assert status(check_run(run, [ref("asr", "wer", 4.5, "lower")]), "asr") == "ok"
    assert status(check_run(run, [ref("asr", "wer", 3.9, "lower")]), "asr") == "worse"
    assert status(check_run(run, [ref("asr", "wer", 9.0, "lower")]), "asr") == "better"
    # accuracy 50 with CI [45, 55]: a reference of 56 is beyond the CI on the better side.
    assert status(check_run(run, [ref("qa", "accuracy", 56.0)]), "qa") == "worse"
    assert status(check_run(run, [ref("qa", "accuracy", 54.0)]), "qa") == "ok"


def test_explicit_tolerance_per_metric(run) -> None:
    report = check_run(
        run, [ref("qa", "accuracy", 52.0), ref("asr", "wer", 4.5, "lower")], tolerance={"accuracy": 1.0}
    )
    assert status(report, "qa") == "worse" and status(report, "asr") == "ok"
    assert check_run(run, [ref("qa", "accuracy", 52.0)], tolerance=3.0).passed


def test_exact_mode_flags_any_change_and_predictions(run) -> None:
    assert status(check_run(run, [ref("qa", "accuracy", 49.0)], exact=True), "qa") == "changed"
    same = Reference("qa", "accuracy", 50.0, "percent", "higher", "baseline", predictions_sha256="other")
    assert status(check_run(run, [same], exact=True), "qa") == "predictions changed"


def test_missing_cell_fails(run) -> None:
    assert status(check_run(run, [ref("avsd", "accuracy", 1.0)]), "avsd") == "missing"


def test_published_names_and_scales_are_matched(run) -> None:
    numbers = [
        PublishedNumber(
            "SAVE", "qa", "accuracy", "higher", "video-SALMONN", 0.6, "fraction", "ok", "T1", "", "13B", ""
        ),
        PublishedNumber("SAVE", "qa", "accuracy", "higher", "Other", 10.0, "percent", "ok", "T1", "", "", ""),
        PublishedNumber(
            "SAVE", "asr", "wer", "lower", "video-SALMONN", None, "percent", "missing", "T1", "", "", ""
        ),
    ]
    refs = references_from_published(numbers, "video-salmonn", {"qa", "asr"})
    assert [(r.task, r.score) for r in refs] == [("qa", pytest.approx(60.0))]


def test_baseline_round_trip_and_cli_exit_codes(
    run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    write_baseline(run, baseline)
    assert json.loads(baseline.read_text())["tasks"]["qa"]["predictions_sha256"] == "digest-qa"
    assert {(r.task, r.metric) for r in references_from_file(baseline)} == {
        ("asr", "wer"),
        ("qa", "accuracy"),
    }
    assert main(["check", str(run.path), "--against", str(baseline), "--exact"]) == 0
    moved = load_run(make_run(tmp_path / "moved", "video-salmonn", {
        "asr": {"wer": metric(5.5, (4.5, 6.5), direction="lower")},
        "qa": {"accuracy": metric(50.0, (45.0, 55.0))},
    }, digest="other"))  # fmt: skip
    capsys.readouterr()
    assert main(["check", str(moved.path), "--against", str(baseline), "--exact"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: 2 of 2" in out and "+0.5" in out and "predictions changed" in out
