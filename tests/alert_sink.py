"""A loopback HTTP server that records what apprise's ``json://`` target posts to it.

``with AlertSink() as sink:`` then point a target at ``sink.url`` (``json://127.0.0.1:PORT/``);
``sink.messages`` holds the decoded JSON bodies (apprise sends ``title``, ``message``, ``type``).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any


class AlertSink:
    def __init__(self, status: int = 200):
        self.status = status
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    data = json.loads(body)
                except ValueError:
                    data = {"raw": body.decode(errors="replace")}
                with sink._lock:
                    if sink.status < 300:
                        sink.messages.append(data)
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}/alerts"

    def __enter__(self) -> "AlertSink":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, n: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {n} alerts, got {self.messages}")
