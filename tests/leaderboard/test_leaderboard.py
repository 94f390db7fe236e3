from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from savbench._errors import SpecError
from savbench.cli import main
from savbench.leaderboard import COLUMNS, read_published
from tests.run_factory import make_run, metric


def write_published(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


def published_row(**kw: str) -> dict[str, str]:
    base = dict(benchmark="SAVE", task="qa", metric="accuracy", direction="higher", model="Paper-Model", score="61.5",
                scale="percent", status="ok", source="Table 1")  # fmt: skip
    return {**base, **kw}


def test_leaderboard_merges_runs_and_published(tmp_path: Path) -> None:
    results = tmp_path / "results"
    make_run(results / "a", "m1", {"qa": {"accuracy": metric(40.0, (35.0, 45.0))}}, created="2026-01-01")
    make_run(results / "b", "m1", {"qa": {"accuracy": metric(42.0, (37.0, 47.0))}}, created="2026-01-02")
    make_run(
        results / "c",
        "m1",
        {"asr": {"wer": metric(9.0, (8.0, 10.0), direction="lower")}},
        created="2026-01-03",
    )
    make_run(results / "d", "m1", {"qa": {"accuracy": metric(30.0, (25.0, 35.0))}}, ablate=["audio"])
    published = write_published(
        tmp_path / "p.csv", [published_row(), published_row(score="", status="missing", model="X")]
    )
    assert main(["leaderboard", str(results), "--published", str(published)]) == 0
    frame = pd.read_csv(results / "leaderboard.csv")
    rows = {r["model"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"m1", "m1 ablate=audio", "Paper-Model [published]"}
    assert rows["m1"]["qa/accuracy"] == 42.0 and rows["m1"]["qa/accuracy ci_low"] == 37.0  # latest run wins
    assert rows["m1"]["asr/wer"] == 9.0  # runs on other tasks join the same row
    assert rows["Paper-Model [published]"]["origin"] == "published"
    markdown = (results / "leaderboard.md").read_text()
    assert "42.00 [37.00, 47.00]" in markdown and "61.50" in markdown and "asr/wer ↓" in markdown


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (published_row(direction="up"), "line 2.direction"),
        (published_row(score="n/a"), "line 2.score"),
        (published_row(scale="permille"), "line 2.scale"),
        (published_row(model=""), "line 2.model"),
    ],
)
def test_bad_published_rows_are_named(tmp_path: Path, row: dict[str, str], field: str) -> None:
    with pytest.raises(SpecError) as info:
        read_published(write_published(tmp_path / "p.csv", [row]))
    assert info.value.field == field
