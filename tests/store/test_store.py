from __future__ import annotations

import json
from pathlib import Path

import pytest

from savbench._errors import RunError
from savbench.store import PredictionStore, ReadReport, read_predictions


def row(i: int, key: str = "k", task: str = "t", error: dict | None = None) -> dict:
    return {"key": key, "task": task, "id": f"s{i}", "prediction": None if error else f"p{i}", "error": error}


def test_append_and_read_back(tmp_path: Path) -> None:
    with PredictionStore(tmp_path) as store:
        store.append([row(0), row(1)])
        store.append([row(2, key="other")])
    rows = read_predictions(tmp_path)
    assert set(rows) == {("k", "t", "s0"), ("k", "t", "s1"), ("other", "t", "s2")}
    assert rows[("k", "t", "s1")]["prediction"] == "p1"


def test_torn_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    with PredictionStore(tmp_path) as store:
        store.append([row(0), row(1)])
    path = tmp_path / "predictions" / "rank-0.jsonl"
    complete = path.read_bytes()
    path.write_bytes(complete + json.dumps(row(2)).encode()[:17])  # a crash mid-write
    report = ReadReport()
    assert set(read_predictions(tmp_path, report)) == {("k", "t", "s0"), ("k", "t", "s1")}
    assert report.torn_lines == 1
    with PredictionStore(tmp_path) as store:  # reopening truncates the torn tail before appending
        assert path.read_bytes() == complete
        store.append([row(2)])
    assert len(read_predictions(tmp_path)) == 3
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_line_that_parses_but_lacks_fields_counts_as_torn(tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    folder.mkdir()
    (folder / "rank-0.jsonl").write_text(
        json.dumps(row(0)) + "\n" + '{"key": "k"}\n' + json.dumps(row(1)) + "\n"
    )
    report = ReadReport()
    assert list(read_predictions(tmp_path, report)) == [("k", "t", "s0")]
    assert report.torn_lines == 1


def test_ranks_merge_and_duplicates_are_counted(tmp_path: Path) -> None:
    with PredictionStore(tmp_path, rank=0) as a, PredictionStore(tmp_path, rank=1) as b:
        a.append([row(0), row(1)])
        b.append([row(1), row(2)])
    report = ReadReport()
    assert len(read_predictions(tmp_path, report)) == 3
    assert report.duplicate_rows == 1


def test_prediction_supersedes_error_row(tmp_path: Path) -> None:
    with PredictionStore(tmp_path) as store:
        store.append([row(0, error={"kind": "adapter", "message": "boom"})])
        store.append([row(0)])
    assert read_predictions(tmp_path)[("k", "t", "s0")]["prediction"] == "p0"


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    with PredictionStore(tmp_path):
        with pytest.raises(RunError, match=r"is in use by pid \d+"):
            PredictionStore(tmp_path).open()
    PredictionStore(tmp_path).open().close()  # free again once the first closes


def test_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot write predictions"):
        PredictionStore(blocker / "run").open()
