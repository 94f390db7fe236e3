"""The judge through the commands: `savbench run` with --judge-* scores with the judge, `savbench rescore`
pays no call a second time, an unparsable reply is recorded (not a zero), the key is written nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from savbench.cli import main
from tests.chat_server import chat_server, reply

SECRET = "sk-judge-run-secret"
SPEC = """\
task: judge_qa
description: Open-ended answers scored by an LLM judge and by exact match.
modalities: [image]
source: {kind: manifest, path: qa.jsonl, media_root: media}
prompt: "{question}"
answer: free_text
metrics:
  - {name: llm_judge, template: qa_correctness, primary: true}
  - {name: exact_match}
"""


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "media" / "x.png")
    rows = [{"id": f"s{i}", "image": "x.png", "question": ("garbled " if i == 2 else "") + f"What is item {i}?",
             "references": [f"answer {i}"]} for i in range(5)]  # fmt: skip
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "judge_qa.yaml").write_text(SPEC)
    return tmp_path


def respond(body: dict, i: int):
    user = body["messages"][-1]["content"]
    return reply("hmm") if "garbled" in user else reply(json.dumps({"verdict": "correct"}))


def test_run_then_rescore_with_the_judge(task_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)
    out = task_dir / "out"
    with chat_server(respond) as server:
        judge = [
            "--judge-model",
            "judge-1",
            "--judge-base-url",
            server.url,
            "--judge-api-key-env",
            "JUDGE_RUN_KEY",
        ]
        argv = ["run", "--model", "oracle", "--tasks", "judge_qa", "--include-path", str(task_dir), "--output-dir",
                str(out), "--run-name", "r", "--no-progress", "--num-workers", "0", "--bootstrap", "50", *judge]  # fmt: skip
        assert main(argv) == 0
        assert len(server.requests) == 5
        assert server.headers[0]["Authorization"] == f"Bearer {SECRET}"
        results = json.loads((out / "r" / "results.json").read_text())
        judged = results["tasks"]["judge_qa"]["metrics"]["llm_judge"]
        assert judged["score"] == 100.0  # 4 correct verdicts; the unparsable one is not a zero
        assert results["tasks"]["judge_qa"]["metrics"]["exact_match"]["score"] == 100.0
        assert results["config"]["judge"] == {
            "model": "judge-1",
            "base_url": server.url,
            "api_key_env": "JUDGE_RUN_KEY",
        }
        rows = {r["id"]: r for r in map(json.loads, (out / "r" / "samples.jsonl").read_text().splitlines())}
        assert rows["s0"]["details"]["llm_judge"]["judge_reply"] == '{"verdict": "correct"}'
        assert rows["s2"]["scores"]["llm_judge"] is None
        assert "unparsable reply" in rows["s2"]["details"]["llm_judge"]["judge_error"]
        for _ in range(2):  # rescoring reads every verdict from the cache
            assert main(["rescore", str(out / "r"), "--metric", "llm_judge", *judge]) == 0
        assert len(server.requests) == 5
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_judge_model_is_part_of_the_run_identity(task_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)
    out = task_dir / "out"
    with chat_server(respond) as server:
        for model in ("judge-1", "judge-2"):
            argv = ["run", "--model", "oracle", "--tasks", "judge_qa", "--include-path", str(task_dir),
                    "--output-dir", str(out), "--no-progress", "--num-workers", "0", "--bootstrap", "50",
                    "--judge-model", model, "--judge-base-url", server.url, "--judge-api-key-env", "JUDGE_RUN_KEY"]  # fmt: skip
            assert main(argv) == 0
        assert len(server.requests) == 10  # the second judge is asked again: its verdicts are its own
    assert len([p for p in out.iterdir() if (p / "results.json").exists()]) == 2
