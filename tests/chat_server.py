"""A local chat-completions server for tests: scripted failures, recorded requests.

It binds to 127.0.0.1 on a free port and stops with the fixture; nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any], int], tuple[int, dict[str, str], bytes]]


def reply(text: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@dataclass
class ChatServer:
    """Requests seen (parsed JSON bodies and headers) and the URL to call."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def chat_server(responder: Responder) -> Iterator[ChatServer]:
    """Serve ``responder(body, call_index) -> (status, headers, payload)`` on loopback."""
    state = ChatServer(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                index = len(state.requests)
                state.requests.append(body)
                state.headers.append(dict(self.headers))
            status, headers, payload = responder(body, index)
            if status == 0:  # simulate a slow server: payload is the delay in seconds
                time.sleep(float(payload))
                status, headers, payload = reply("late")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
