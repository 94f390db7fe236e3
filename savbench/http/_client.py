"""A small client for OpenAI-compatible chat-completions endpoints.

Shared by the ``openai`` adapter and the ``llm_judge`` metric: concurrency with a limit, retries
with exponential backoff on 429 and 5xx (honouring ``Retry-After``), a per-call timeout, and the
API key read from an environment variable at call time, so it is never part of any settings
that reach a report.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from savbench._errors import SavbenchError

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class ChatError(SavbenchError):
    """A chat call failed for good (after retries, or with a status that is not retried)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ChatStats:
    """Counters of what the client did (thread-safe)."""

    calls: int = 0
    retries: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass
class ChatClient:
    """Client of one endpoint.

    Args:
        base_url: e.g. ``http://localhost:8000/v1`` (``/chat/completions`` is appended).
        model: Model name sent with every request.
        api_key_env: Environment variable holding the API key; unset means no key is sent.
        timeout: Seconds per HTTP call.
        max_retries: Retries after the first attempt on retryable failures.
        backoff: Base delay in seconds; attempt k waits about ``backoff * 2**k`` (with jitter)
            unless the server sends ``Retry-After``.
        concurrency: Requests in flight at once in :meth:`complete_many`.
        sleep: Injected for tests.
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 5
    backoff: float = 1.0
    concurrency: int = 4
    sleep: Callable[[float], None] = time.sleep
    stats: ChatStats = field(default_factory=ChatStats)

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def complete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """Send one chat request and return the decoded JSON response.

        Raises:
            ChatError: After the retries are used up, on a non-retryable status, or on a
                response that is not JSON.
        """
        body = json.dumps({"model": self.model, "messages": messages, **params}).encode("utf-8")
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            self.stats.add(calls=1)
            request = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
            retry_after: float | None = None
            status: int | None = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = response.read()
                try:
                    return json.loads(payload)
                except json.JSONDecodeError:
                    self.stats.add(failures=1)
                    raise ChatError(f"{self.url}: response is not JSON: {payload[:200]!r}") from None
            except urllib.error.HTTPError as exc:
                status = exc.code
                detail = exc.read()[:300].decode("utf-8", "replace")
                last_error = f"HTTP {exc.code}: {detail}"
                if exc.code not in RETRY_STATUS:
                    self.stats.add(failures=1)
                    raise ChatError(f"{self.url}: {last_error}", status=exc.code) from None
                retry_after = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last_error = f"{type(exc).__name__}: {reason}"
            if attempt < self.max_retries:
                self.stats.add(retries=1)
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.backoff * (2**attempt) * (0.5 + random.random())
                )
                self.sleep(delay)
        self.stats.add(failures=1)
        raise ChatError(
            f"{self.url}: gave up after {self.max_retries + 1} attempts: {last_error}", status=status
        )

    def complete_many(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        per_request: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> list[dict[str, Any] | ChatError]:
        """Send many requests with at most ``concurrency`` in flight; failures are returned, not raised.

        Args:
            conversations: One message list per request.
            per_request: Optional extra parameters per request (e.g. a seed each).
            **params: Parameters shared by every request.
        """
        extras = list(per_request) if per_request is not None else [{} for _ in conversations]

        def one(index: int) -> dict[str, Any] | ChatError:
            try:
                return self.complete(conversations[index], **params, **extras[index])
            except ChatError as exc:
                return exc

        if len(conversations) <= 1 or self.concurrency <= 1:
            return [one(i) for i in range(len(conversations))]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, range(len(conversations))))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def message_text(response: dict[str, Any]) -> str:
    """The assistant text of a chat-completions response.

    Raises:
        ChatError: The response does not have the chat-completions shape.
    """
    try:
        content = response["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ChatError(f"unexpected response shape: {json.dumps(response)[:200]}") from None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""
