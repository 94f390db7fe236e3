from __future__ import annotations

import pytest

from savbench.http import ChatClient, ChatError, message_text
from tests.chat_server import chat_server, reply


def client(url: str, **kwargs) -> ChatClient:
    delays: list[float] = []
    c = ChatClient(base_url=url, model="m", sleep=delays.append, **kwargs)
    c.delays = delays  # type: ignore[attr-defined]
    return c


def test_sends_model_messages_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CHAT_KEY", "sk-secret")
    with chat_server(lambda body, i: reply("hello")) as server:
        response = client(server.url, api_key_env="TEST_CHAT_KEY").complete(
            [{"role": "user", "content": "hi"}], max_tokens=5
        )
    assert message_text(response) == "hello"
    assert server.requests[0] == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
    }
    assert server.headers[0]["Authorization"] == "Bearer sk-secret"


def test_no_key_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_KEY_VAR", raising=False)
    with chat_server(lambda body, i: reply("x")) as server:
        client(server.url, api_key_env="UNSET_KEY_VAR").complete([{"role": "user", "content": "hi"}])
    assert "Authorization" not in server.headers[0]


def test_retries_429_and_5xx_with_backoff_and_retry_after() -> None:
    script = [
        (429, {"Retry-After": "7"}, b"slow down"),
        (503, {}, b"busy"),
        reply("finally"),
    ]
    with chat_server(lambda body, i: script[i]) as server:
        c = client(server.url, backoff=0.5)
        assert message_text(c.complete([{"role": "user", "content": "q"}])) == "finally"
    assert len(server.requests) == 3
    assert c.stats.retries == 2
    assert c.delays[0] == 7.0  # Retry-After honoured
    assert 0.25 <= c.delays[1] <= 1.5  # backoff * 2**1 * jitter in [0.5, 1.5)


def test_gives_up_after_max_retries() -> None:
    with chat_server(lambda body, i: (500, {}, b"down")) as server:
        c = client(server.url, max_retries=2)
        with pytest.raises(ChatError, match="gave up after 3 attempts: HTTP 500"):
            c.complete([{"role": "user", "content": "q"}])
    assert len(server.requests) == 3


def test_client_errors_are_not_retried() -> None:
    with chat_server(lambda body, i: (400, {}, b"bad request")) as server:
        with pytest.raises(ChatError, match="HTTP 400"):
            client(server.url).complete([{"role": "user", "content": "q"}])
    assert len(server.requests) == 1


def test_timeout_is_retried_then_reported() -> None:
    with chat_server(lambda body, i: (0, {}, b"1.0")) as server:
        c = client(server.url, timeout=0.2, max_retries=1)
        with pytest.raises(ChatError, match="gave up after 2 attempts"):
            c.complete([{"role": "user", "content": "q"}])


def test_complete_many_keeps_order_and_returns_failures() -> None:
    def respond(body, i):
        text = body["messages"][0]["content"]
        return (400, {}, b"no") if text == "bad" else reply(text.upper())

    with chat_server(respond) as server:
        results = client(server.url, concurrency=3).complete_many(
            [[{"role": "user", "content": t}] for t in ["a", "bad", "c", "d"]]
        )
    assert [message_text(r) if not isinstance(r, ChatError) else "ERR" for r in results] == [
        "A",
        "ERR",
        "C",
        "D",
    ]


def test_malformed_response_shape() -> None:
    with pytest.raises(ChatError, match="unexpected response shape"):
        message_text({"choices": []})
