"""A loopback OpenAI-compatible chat server for tests (``POST /v1/chat/completions``).

It answers as the API reference documents a non-streamed chat completion (``object:
"chat.completion"``, ``choices[0].message.content``, ``finish_reason``, ``usage``) and errors
as ``{"error": {"message", "type", "code"}}``. Its "model" is deterministic: every run of
Chinese becomes the word ``text``, everything else (placeholders QX1..., Latin names, digits)
is copied in order, Chinese punctuation becomes English punctuation. A request whose system
prompt asks for a JSON array gets a JSON array.

Knobs (attributes of :class:`FakeOpenAI`): ``fail`` (statuses to answer first, in order, with
``retry_after``), ``status`` (answer every request with this status), ``delay`` (seconds before
answering), ``chatter`` (wrap the reply in "Sure! Here is..." and a closing note, the batch
reply in a code fence), ``ramble`` (answer with an explanation in several paragraphs),
``broken_batch`` (answer batches with prose instead of JSON), ``api_key`` (required bearer key).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import regex

from publisher.text import HAN_CLASS

_HAN_RUN = regex.compile(rf"[{HAN_CLASS}]+")  # what publisher counts as Chinese
_PUNCT = {"，": ", ", "。": ". ", "：": ": ", "；": "; ", "！": "! ", "？": "? ", "、": ", ", "（": " (", "）": ") ",
          "“": ' "', "”": '" ', "《": ' "', "》": '" ', "「": ' "', "」": '" '}


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def _number(m: re.Match) -> str:
    value = float(m.group(1)) * {"万": 1e4, "亿": 1e8}[m.group(2)]
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


def fake_english(text: str) -> str:
    """Chinese runs become "text"; numbers keep their value (5 月 -> May, 3.5 万 -> 35,000)."""
    out = re.sub(r"(?<![\d.])(\d+(?:\.\d+)?) ?([万亿])", _number, text)
    out = re.sub(r"(?<![\d.])(1[0-2]|[1-9]) ?月", lambda m: " " + _MONTHS[int(m.group(1)) - 1] + " ", out)
    out = _HAN_RUN.sub(" text ", out)
    for zh, en in _PUNCT.items():
        out = out.replace(zh, en)
    out = " ".join(out.split())
    return re.sub(r" ([,.;:!?)])", r"\1", out)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail: list[int] = []
        self.retry_after: str | None = "0"
        self.status: int | None = None
        self.delay = 0.0
        self.chatter = False
        self.ramble = False
        self.broken_batch = False
        self.api_key: str | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                fake._handle(self)

            def do_GET(self):  # noqa: N802
                if self.path == "/v1/models":
                    fake._send(self, 200, {"object": "list", "data": [{"id": "fake-llm", "object": "model"}]})
                else:
                    fake._send(self, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the API ---

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _error(self, handler, status: int, message: str, headers: dict | None = None) -> None:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        self._send(handler, status, {"error": {"message": message, "type": kind, "code": kind}}, headers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if handler.path != "/v1/chat/completions":
            return self._error(handler, 404, f"unknown path {handler.path}")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(handler, 400, "body is not JSON")
        with self._lock:
            self.requests.append(body)
            self.headers.append(dict(handler.headers))
            status = self.fail.pop(0) if self.fail else self.status
        if self.delay:
            time.sleep(self.delay)
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(handler, 401, "Incorrect API key provided")
        if status:
            headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after is not None else {}
            return self._error(handler, status, "Rate limit reached" if status == 429 else "The server had an error")
        if body.get("stream"):
            return self._error(handler, 400, "this fake only answers stream: false")
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        if "JSON array" in system:
            items = json.loads(user)
            if self.broken_batch:
                content = "I translated them: " + "; ".join(fake_english(i) for i in items)
            else:
                content = json.dumps([fake_english(i) for i in items], ensure_ascii=False)
                if self.chatter:
                    content = f"Here you go:\n```json\n{content}\n```\nLet me know if you need anything else."
        elif self.ramble:
            content = ("This sentence is about a video model.\n\nIt says that people liked it, and the word "
                       f"order in Chinese differs.\n\nA literal rendering: {fake_english(user)}")
        else:
            content = fake_english(user)
            if self.chatter:
                content = f"Sure! Here is the translation:\n\n\"{content}\"\n\nI hope this helps!"
        self._send(handler, 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(user), "completion_tokens": len(content),
                      "total_tokens": len(user) + len(content)},
        })
