"""The judge through the commands: `savbench run` with --judge-* scores with the judge, `savbench rescore`
pays no call a second time, an unparsable reply is recorded (not a zero), the key is written nowhere."""

from __future__ import annotations

import json
import threading
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


def run_argv(task_dir: Path, out: Path, url: str, *extra: str) -> list[str]:
    return ["run", "--model", "oracle", "--tasks", "judge_qa", "--include-path", str(task_dir), "--output-dir",
            str(out), "--run-name", "r", "--no-progress", "--num-workers", "0", "--bootstrap", "50",
            "--judge-model", "judge-1", "--judge-base-url", url, "--judge-api-key-env", "JUDGE_RUN_KEY", *extra]  # fmt: skip


def test_rate_limits_and_a_slow_reply_are_retried_then_a_rerun_pays_nothing(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)
    refused: set[str] = set()
    lock = threading.Lock()

    def flaky(body: dict, i: int):
        user = body["messages"][-1]["content"]
        with lock:  # the first request of items 1 and 3 is refused, of item 4 answered too late
            first = user not in refused
            refused.add(user)
        if first and ("item 1?" in user or "item 3?" in user):
            return 429, {"Retry-After": "0"}, b"slow down"
        if first and "item 4?" in user:
            return 0, {}, b"1.5"  # the chat server sleeps this long, past --judge-timeout
        return respond(body, i)

    out = task_dir / "out"
    with chat_server(flaky) as server:
        assert main(run_argv(task_dir, out, server.url, "--judge-timeout", "0.4")) == 0
        assert len(server.requests) == 5 + 3  # one retry each for two 429s and one timeout
        results = json.loads((out / "r" / "results.json").read_text())
        judged = results["tasks"]["judge_qa"]["metrics"]["llm_judge"]
        assert (
            judged["n"] == 4 and judged["score"] == 100.0
        )  # all but the garbled item, none lost to the faults
        assert judged["definition"]["judge_calls"] == 8 and judged["definition"]["cache_hits"] == 0
        rows = {r["id"]: r for r in map(json.loads, (out / "r" / "samples.jsonl").read_text().splitlines())}
        assert rows["s4"]["details"]["llm_judge"] == {"judge_reply": '{"verdict": "correct"}', "cached": False,
                                                     "verdict": 100.0}  # fmt: skip

        # The same command again (a resumed or repeated run) asks the judge nothing.
        assert main(run_argv(task_dir, out, server.url, "--judge-timeout", "0.4")) == 0
        assert len(server.requests) == 8
        again = json.loads((out / "r" / "results.json").read_text())["tasks"]["judge_qa"]["metrics"][
            "llm_judge"
        ]
        assert again["definition"]["judge_calls"] == 0 and again["definition"]["cache_hits"] == 5
        assert again["score"] == judged["score"]


def test_judge_settings_and_template_are_recorded_and_change_what_is_asked(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)

    def answer(body: dict, i: int):  # a rating template asks for a rating, the others for a verdict
        wants_rating = '"rating"' in body["messages"][-1]["content"]
        return reply(json.dumps({"rating": 4}) if wants_rating else json.dumps({"verdict": "correct"}))

    out = task_dir / "out"
    spec_path = task_dir / "judge_qa.yaml"
    variants = [
        ("{name: llm_judge, template: qa_correctness, primary: true}", 100.0),
        ("{name: llm_judge, template: qa_rating_0_5, primary: true}", 80.0),
        ("{name: llm_judge, template: qa_rating_0_5, max_tokens: 16, primary: true}", 80.0),
    ]
    seen: list[tuple[str, dict]] = []
    with chat_server(answer) as server:
        for number, (line, score) in enumerate(variants, start=1):
            spec_path.write_text(
                SPEC.replace("{name: llm_judge, template: qa_correctness, primary: true}", line)
            )
            assert main(run_argv(task_dir, out, server.url)) == 0
            assert len(server.requests) == 5 * number  # new settings: nothing served from the cache
            task = json.loads((out / "r" / "results.json").read_text())["tasks"]["judge_qa"]
            judged = task["metrics"]["llm_judge"]
            assert judged["score"] == score
            seen.append((task["spec_fingerprint"], judged["definition"]))
        assert {r["max_tokens"] for r in server.requests} == {64, 16}
        assert {r["model"] for r in server.requests} == {"judge-1"}
    assert len({fp for fp, _ in seen}) == 3  # template and judge settings are part of the task fingerprint
    first, second, third = (d for _, d in seen)
    assert (first["template"], second["template"]) == ("qa_correctness", "qa_rating_0_5")
    assert (second["max_tokens"], third["max_tokens"]) == (64, 16)
    for definition in (first, second, third):
        assert definition["judge_model"] == "judge-1" and definition["template_version"] >= 1
        assert definition["temperature"] == 0.0 and definition["judge_base_url"] == server.url


def test_rescore_judges_a_run_made_without_a_judge_and_leaves_predictions_alone(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)
    out = task_dir / "out"
    argv = ["run", "--model", "oracle", "--tasks", "judge_qa", "--include-path", str(task_dir), "--output-dir",
            str(out), "--run-name", "r", "--no-progress", "--num-workers", "0", "--bootstrap", "50"]  # fmt: skip
    assert main(argv) == 0
    before = json.loads((out / "r" / "results.json").read_text())
    assert before["tasks"]["judge_qa"]["metrics"]["llm_judge"]["score"] is None
    assert "no judge configured" in before["tasks"]["judge_qa"]["metrics"]["llm_judge"]["unavailable"]
    store = {p: p.read_bytes() for p in (out / "r" / "predictions").rglob("*") if p.is_file()}
    with chat_server(respond) as server:
        judge = [
            "--judge-model",
            "judge-1",
            "--judge-base-url",
            server.url,
            "--judge-api-key-env",
            "JUDGE_RUN_KEY",
        ]
        assert main(["rescore", str(out / "r"), "--metric", "llm_judge", *judge]) == 0
        assert len(server.requests) == 5
    after = json.loads((out / "r" / "results.json").read_text())
    judged = after["tasks"]["judge_qa"]["metrics"]["llm_judge"]
    assert judged["score"] == 100.0 and judged["n"] == 4 and judged["definition"]["judge_errors"] == 1
    assert (
        after["tasks"]["judge_qa"]["predictions_sha256"] == before["tasks"]["judge_qa"]["predictions_sha256"]
    )
    assert after["adapter_calls"] == before["adapter_calls"]  # the model was not run again
    assert {p: p.read_bytes() for p in store} == store
    assert after["rescored"][-1]["judge"]["model"] == "judge-1"


def test_a_key_echoed_back_by_the_server_is_written_nowhere(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_RUN_KEY", SECRET)
    headers: list[str] = []

    def echo(body: dict, i: int):
        user = body["messages"][-1]["content"]
        if "item 1?" in user:  # an error body quoting the request's key
            return 401, {"Content-Type": "text/plain"}, f"bad key: {headers[-1]}".encode()
        if "item 3?" in user:  # a reply quoting it
            return reply(json.dumps({"verdict": "correct", "note": headers[-1]}))
        return reply(json.dumps({"verdict": "correct"}))

    out = task_dir / "out"
    with chat_server(echo) as server:
        headers.append(f"Bearer {SECRET}")
        assert main(run_argv(task_dir, out, server.url)) == 0
        assert main(["rescore", str(out / "r"), "--metric", "llm_judge", "--judge-model", "judge-1",
                     "--judge-base-url", server.url, "--judge-api-key-env", "JUDGE_RUN_KEY"]) == 0  # fmt: skip
    rows = {r["id"]: r for r in map(json.loads, (out / "r" / "samples.jsonl").read_text().splitlines())}
    assert (
        "HTTP 401" in rows["s1"]["details"]["llm_judge"]["judge_error"]
        and rows["s1"]["scores"]["llm_judge"] is None
    )
    assert rows["s3"]["scores"]["llm_judge"] == 100.0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "judge-cache.jsonl" for p in files)
    for path in files:
        assert SECRET not in path.read_text(errors="replace"), path
