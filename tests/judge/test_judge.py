from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from savbench.judge import JudgeCache, JudgeSettings, UnparsableVerdict, get_template, parse_verdict
from savbench.metrics import ScoringInput, get_metric
from tests.chat_server import chat_server, reply


def items(n: int) -> list[ScoringInput]:
    return [
        ScoringInput(sample_id=f"s{i}", prediction=f"answer {i}", references=(f"ref {i}",), question=f"q{i}")
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"verdict": "correct"}', 100.0),
        ('Sure. {"verdict": "incorrect"}', 0.0),
        ("The answer is correct.", 100.0),
        ("INCORRECT", 0.0),
    ],
)
def test_correctness_verdicts(text: str, score: float) -> None:
    assert parse_verdict(get_template("qa_correctness"), text) == score


@pytest.mark.parametrize("text", ["", "maybe", "correct or incorrect, hard to say", '{"verdict": "partly"}'])
def test_unreadable_verdicts_raise(text: str) -> None:
    with pytest.raises(UnparsableVerdict):
        parse_verdict(get_template("qa_correctness"), text)


def test_rating_is_rescaled_and_range_checked() -> None:
    template = get_template("qa_rating_0_5")
    assert parse_verdict(template, '{"rating": 4}') == pytest.approx(80.0)
    assert parse_verdict(template, "I'd give it 5") == 100.0
    with pytest.raises(UnparsableVerdict, match="outside"):
        parse_verdict(template, '{"rating": 7}')
    with pytest.raises(UnparsableVerdict):
        parse_verdict(template, "3 or 4")


def test_cache_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "cache.jsonl"
    JudgeCache(path).put_many([{"key": "a", "reply": "x"}])
    with path.open("ab") as handle:
        handle.write(b'{"key": "b", "rep')
    cache = JudgeCache(path)
    assert cache.get("a") == "x" and cache.get("b") is None and len(cache) == 1


def judge_metric(url: str, tmp_path: Path, **kwargs):
    settings = JudgeSettings(model="judge-1", base_url=url, api_key_env="JUDGE_KEY", cache_path=tmp_path / "c.jsonl",
                             max_retries=3, timeout=5)  # fmt: skip
    return get_metric("llm_judge", judge=settings, bootstrap_samples=200, **kwargs)


def test_judge_scores_caches_and_records_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-judge-secret")
    rate_limited: list[str] = []

    def respond(body, i):
        user = body["messages"][1]["content"]
        # The first request for item 0 is refused, whichever position concurrency gives it.
        if "answer 0" in user and not rate_limited:
            rate_limited.append(user)
            return 429, {"Retry-After": "0"}, b"rate limited"
        if "answer 3" in user:
            return reply("I cannot decide")
        verdict = "correct" if ("answer 0" in user or "answer 1" in user) else "incorrect"
        return reply(json.dumps({"verdict": verdict}))

    with chat_server(respond) as server:
        metric = judge_metric(server.url, tmp_path)
        result = metric.compute(items(4))
        assert server.headers[0]["Authorization"] == "Bearer sk-judge-secret"
        assert result.per_sample == [100.0, 100.0, 0.0, None]
        assert result.score == pytest.approx(200 / 3)
        assert result.n == 3 and result.definition["judge_errors"] == 1
        assert "unparsable reply" in result.details[3]["judge_error"]
        assert result.details[3]["judge_reply"] == "I cannot decide"
        first_calls = len(server.requests)
        assert first_calls == 5  # four items, one retried after a 429
        again = judge_metric(server.url, tmp_path).compute(items(4))
        assert len(server.requests) == first_calls  # every reply came from the cache
        assert again.per_sample == result.per_sample and again.definition["cache_hits"] == 4
    cache_text = (tmp_path / "c.jsonl").read_text()
    assert "sk-judge-secret" not in cache_text and "sk-judge-secret" not in json.dumps(result.to_dict())


def test_judge_without_endpoint_is_unavailable_not_zero(tmp_path: Path) -> None:
    result = get_metric("llm_judge").compute(items(2))
    assert result.score is None and "no judge configured" in result.unavailable


def test_unknown_template_is_named() -> None:
    with pytest.raises(KeyError, match="unknown judge template 'nope'"):
        get_metric("llm_judge", template="nope")


def test_each_reply_is_cached_as_it_arrives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed while the judge is still answering keeps every reply it already paid for: the
    last item's reply is held back until the other four are in the cache file (or 5 s pass)."""
    monkeypatch.setenv("JUDGE_KEY", "sk-judge-secret")
    cache_file = tmp_path / "c.jsonl"
    waited: list[bool] = []

    def respond(body, i):
        if "answer 4" in body["messages"][1]["content"]:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (
                cache_file.exists() and len(cache_file.read_text().splitlines()) >= 4
            ):
                time.sleep(0.02)
            waited.append(cache_file.exists() and len(cache_file.read_text().splitlines()) >= 4)
        return reply(json.dumps({"verdict": "correct"}))

    with chat_server(respond) as server:
        settings = JudgeSettings(model="judge-1", base_url=server.url, api_key_env="JUDGE_KEY",
                                 cache_path=cache_file, concurrency=2, timeout=10)  # fmt: skip
        result = get_metric("llm_judge", judge=settings, bootstrap_samples=50).compute(items(5))
    assert waited == [True]
    assert result.per_sample == [100.0] * 5 and len(JudgeCache(cache_file)) == 5
