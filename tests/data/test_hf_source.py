"""A task whose data is a Hugging Face dataset: media columns read undecoded and decoded by savbench,
offline, from a dataset saved on disk (the same code path as the hub cache)."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from savbench._errors import SpecError
from savbench.runner import RunConfig, run

datasets = pytest.importorskip("datasets")


def wav_bytes(seconds: float, sample_rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate, format="WAV")
    return buffer.getvalue()


SPEC = """\
task: hf_asr
description: Transcription from a dataset saved with save_to_disk.
modalities: [speech]
source:
  kind: hf
  dataset: {dataset}
  split: test
  columns: {{id: utt, audio: audio, references: text}}
prompt: "Transcribe the speech."
answer: transcript
metrics: [{{name: wer}}]
"""


@pytest.fixture(scope="module")
def hf_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hf")
    rows = {
        "utt": ["u0", "u1", "u2", "broken"],
        "audio": [{"bytes": wav_bytes(0.5 + i / 4), "path": f"u{i}.wav"} for i in range(3)]
        + [{"bytes": b"RIFF\x00\x00not a wav", "path": "broken.wav"}],
        "text": ["HELLO WORLD", "the cat sat", "Mr. Smith's 2 dogs", "nothing"],
    }
    # Stored as hub audio datasets store it (bytes + path); the Audio type is cast on without
    # encoding, which would need torchcodec.
    audio_struct = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}
    features = datasets.Features(
        {"utt": datasets.Value("string"), "audio": audio_struct, "text": datasets.Value("string")}
    )
    table = datasets.Dataset.from_dict(rows, features=features).cast_column(
        "audio", datasets.Audio(decode=False)
    )
    dataset = datasets.DatasetDict({"test": table})
    dataset.save_to_disk(str(root / "ds"))
    (root / "tasks").mkdir()
    (root / "tasks" / "hf_asr.yaml").write_text(SPEC.format(dataset=root / "ds"))
    return root


def test_hf_dataset_is_decoded_by_savbench_and_scored(hf_task: Path) -> None:
    config = RunConfig(model="oracle", tasks=["hf_asr"], include_paths=[str(hf_task / "tasks")],
                       output_dir=hf_task / "out", num_workers=0, progress=False, bootstrap_samples=50)  # fmt: skip
    outcome = run(config)
    section = outcome.results["tasks"]["hf_asr"]
    assert section["metrics"]["wer"]["score"] == 0.0
    assert (section["n_scored"], section["n_errors"]) == (3, 1)
    rows = {r["id"]: r for r in map(json.loads, (outcome.run_dir / "samples.jsonl").read_text().splitlines())}
    assert set(rows) == {"u0", "u1", "u2", "broken"}
    message = rows["broken"]["error"]["message"]
    assert "broken.wav" in message and str(hf_task / "ds") in message  # names the dataset row's file


def test_missing_column_names_the_spec_field(hf_task: Path, tmp_path: Path) -> None:
    spec = tmp_path / "hf_bad.yaml"
    spec.write_text(
        SPEC.format(dataset=hf_task / "ds")
        .replace("task: hf_asr", "task: hf_bad")
        .replace("text}", "transcript}")
    )
    config = RunConfig(model="oracle", tasks=["hf_bad"], include_paths=[str(tmp_path)], output_dir=tmp_path / "out",
                       num_workers=0, progress=False)  # fmt: skip
    with pytest.raises(SpecError, match=r"source\.columns.*transcript"):
        run(config)


def test_unknown_dataset_offline_is_a_spec_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "hf_nowhere.yaml").write_text(
        textwrap.dedent(SPEC.format(dataset="savbench-tests/no-such-dataset")).replace(
            "task: hf_asr", "task: hf_nowhere"
        )
    )
    config = RunConfig(model="oracle", tasks=["hf_nowhere"], include_paths=[str(tmp_path)], output_dir=tmp_path / "out",
                       num_workers=0, progress=False)  # fmt: skip
    with pytest.raises(SpecError, match=r"source\.dataset.*no-such-dataset"):
        run(config)
