from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from savbench._errors import SpecError
from savbench.data import read_manifest
from savbench.data._manifest import parse_manifest_row


def write_manifest(folder: Path, rows: list[object], name: str = "m.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    (root / "a.wav").write_bytes(b"")
    return root


def test_reads_samples_in_order(tmp_path: Path, media_root: Path) -> None:
    path = write_manifest(
        tmp_path,
        [
            {"id": "s1", "audio": "a.wav", "references": ["hello world"], "audio_start": 1.5, "audio_end": 3},
            {
                "id": 2,
                "video": "sub/v.mp4",
                "question": "Which?",
                "choices": ["x", "y"],
                "references": ["y"],
                "cluster": "v",
                "meta": {"k": 1},
            },
        ],
    )
    samples = read_manifest(path, task="t", media_root=media_root)
    assert [s.id for s in samples] == ["s1", "2"]
    assert samples[0].audio is not None and samples[0].audio.path == str((media_root / "a.wav").resolve())
    assert (samples[0].audio.start, samples[0].audio.end) == (1.5, 3.0)
    assert samples[1].choices == ("x", "y") and samples[1].cluster == "v" and samples[1].meta == {"k": 1}


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ({"audio": "a.wav", "references": ["x"]}, "line 1.id", "required"),
        ({"id": "a", "audio": "a.wav"}, "line 1.references", "non-empty list"),
        ({"id": "a", "audio": "a.wav", "references": []}, "line 1.references", "non-empty list"),
        ({"id": "a", "audio": "a.wav", "references": "x"}, "line 1.references", "non-empty list"),
        (
            {"id": "a", "audio": "a.wav", "references": ["x"], "refrences": ["x"]},
            "line 1.refrences",
            "unknown field",
        ),
        ({"id": "a", "audio": 3, "references": ["x"]}, "line 1.audio", "path string"),
        (
            {"id": "a", "audio": "a.wav", "references": ["x"], "audio_start": -1},
            "line 1.audio_start",
            "non-negative",
        ),
        (
            {"id": "a", "audio": "a.wav", "references": ["x"], "audio_start": 2, "audio_end": 1},
            "line 1.audio_end",
            "greater",
        ),
        (
            {"id": "a", "question": "q", "choices": ["x", "y"], "references": ["z"]},
            "line 1.references",
            "not one of the choices",
        ),
        (
            {"id": "a", "question": "q", "choices": ["x", "x"], "references": ["x"]},
            "line 1.choices",
            "distinct",
        ),
        ({"id": "a", "references": ["x"]}, "line 1", "at least one media file or a question"),
        ([1, 2], "line 1", "expected a JSON object"),
    ],
)
def test_bad_rows_name_file_line_field(
    tmp_path: Path, media_root: Path, row: object, field: str, reason: str
) -> None:
    path = write_manifest(tmp_path, [row])
    with pytest.raises(SpecError) as info:
        read_manifest(path, task="t", media_root=media_root)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert reason in info.value.reason


def test_invalid_json_line(tmp_path: Path, media_root: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "audio": "a.wav", "references": ["x"]}\n{"id": "b", \n')
    with pytest.raises(SpecError, match=r"m.jsonl: line 2: invalid JSON"):
        read_manifest(path, task="t", media_root=media_root)


def test_duplicate_ids(tmp_path: Path, media_root: Path) -> None:
    row = {"id": "a", "audio": "a.wav", "references": ["x"]}
    path = write_manifest(tmp_path, [row, {**row, "id": "b"}, row])
    with pytest.raises(SpecError, match=r"line 3.id: duplicate id 'a' \(first on line 1\)"):
        read_manifest(path, task="t", media_root=media_root)


def test_empty_manifest(tmp_path: Path, media_root: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text("\n\n")
    with pytest.raises(SpecError, match="holds no samples"):
        read_manifest(path, task="t", media_root=media_root)


def test_non_utf8_manifest(tmp_path: Path, media_root: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"id": "a", "audio": "a.wav", "references": ["caf\xe9"]}\n')
    with pytest.raises(SpecError, match="line 1: not valid UTF-8"):
        read_manifest(path, task="t", media_root=media_root)


@pytest.mark.parametrize("bad_path", ["../secret.wav", "sub/../../secret.wav", "/etc/passwd"])
def test_paths_escaping_media_root_are_refused(tmp_path: Path, media_root: Path, bad_path: str) -> None:
    path = write_manifest(tmp_path, [{"id": "a", "audio": bad_path, "references": ["x"]}])
    with pytest.raises(SpecError, match=r"line 1.audio: .*(climbs out|absolute)"):
        read_manifest(path, task="t", media_root=media_root)


def test_symlink_out_of_media_root_is_refused(tmp_path: Path, media_root: Path) -> None:
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"")
    os.symlink(outside, media_root / "link.wav")
    path = write_manifest(tmp_path, [{"id": "a", "audio": "link.wav", "references": ["x"]}])
    with pytest.raises(SpecError, match="resolves outside the media root"):
        read_manifest(path, task="t", media_root=media_root)


# file names that no file system takes, climbs out of the root, and ordinary ones
PATH_TEXT = st.sampled_from(
    ["a.wav", "a\x00b.wav", "a\ud800.wav", "../a.wav", "/etc/passwd", "", ".", "x/" * 50 + "a"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | PATH_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
row_strategy = st.dictionaries(
    st.sampled_from(["id", "audio", "video", "image", "question", "choices", "references", "cluster", "meta",
                     "audio_start", "audio_end", "junk"]),
    json_values,
)  # fmt: skip


# rows whose required fields are fine, so that the optional ones and the media paths are reached
rows_past_required = st.tuples(row_strategy, st.sampled_from(["audio", "video", "image"]), PATH_TEXT).map(
    lambda t: {**t[0], "id": "s1", "references": ["x"], t[1]: t[2]}
)


@settings(max_examples=300, deadline=None)
@given(row=row_strategy | rows_past_required)
def test_any_row_parses_or_raises_spec_error(tmp_path_factory: pytest.TempPathFactory, row: dict) -> None:
    root = Path("/nonexistent-media-root")
    try:
        sample = parse_manifest_row(row, task="t", media_root=root, path=Path("m.jsonl"), line=1)
    except SpecError as exc:
        assert exc.field.startswith("line 1")
    else:
        assert sample.references and all(isinstance(r, str) for r in sample.references)
        for ref in (sample.audio, sample.video, sample.image):
            assert ref is None or ref.path.startswith(str(root.resolve()))


RAW_LINES = [
    b"[" * 5000, b'{"id": "a", "references": ["x"], "question": "q", "audio_start": NaN}', b"\xff\xfe{}",
    b'{"id": "\\ud800", "references": ["x"], "question": "q"}', b'{"id": 1e999, "references": ["x"]}',
    b'{"id": "a", "references": ["x"], "audio": "a\\u0000.wav"}', b"", b"   ", b"null", b'"text"', b"{",
    b'{"id": "a", "references": ["x"], "image": "a.wav", "meta": ' + b"[" * 3000 + b"]" * 3000 + b"}",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(RAW_LINES) | row_strategy.map(lambda r: json.dumps(r).encode()), max_size=4
    )
)
def test_any_manifest_file_reads_or_raises_spec_error_naming_the_line(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    folder = tmp_path_factory.mktemp("raw")
    (folder / "media").mkdir()
    path = folder / "m.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        samples = read_manifest(path, task="t", media_root=folder / "media")
    except SpecError as exc:
        assert exc.path == str(path) and (exc.field.startswith("line ") or exc.field == "")
    else:
        assert len({s.id for s in samples}) == len(samples) > 0
