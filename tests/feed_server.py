"""A loopback HTTP server serving feeds and article pages the tests write (publisher.feeds).

``server.route("/feed.xml", body, content_type=...)`` serves bytes; a route may also be a
function of the request handler returning a :class:`Reply` (for 304s, redirects, slow or
endless bodies). Every request is recorded (path and headers) so a test can check what was
asked, e.g. that a second poll sent ``If-None-Match``.

:class:`Loopback` is an httpx transport that sends every request to this server whatever the
URL's host, keeping the URL (and its Host header) as it was: tests can fetch
``https://mp.weixin.qq.com/s?...`` and reach only loopback.
"""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from typing import Callable

import httpx


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Callable[[], "object"] | None = None
    """An iterator of byte chunks sent without a Content-Length (chunked), instead of ``body``."""


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    host: str


class FeedServer:
    def __init__(self):
        self.routes: dict[str, Reply | Callable[["Request"], Reply]] = {}
        self.requests: list[Request] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.headers.get("Host", ""))
                server.requests.append(req)
                route = server.routes.get(self.path, server.routes.get(self.path.split("?")[0]))
                if route is None:
                    reply = Reply(404, b"<html><head><title>404 Not Found</title></head><body>nope</body></html>",
                                  {"Content-Type": "text/html"})
                else:
                    reply = route(req) if callable(route) else route
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for chunk in reply.chunks():
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, body: bytes | str | Reply | Callable[[Request], Reply], *,
              content_type: str = "text/html; charset=utf-8", status: int = 200,
              headers: dict[str, str] | None = None) -> str:
        if callable(body) or isinstance(body, Reply):
            self.routes[path] = body
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.routes[path] = Reply(status, data, {"Content-Type": content_type, **(headers or {})})
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Loopback(httpx.HTTPTransport):
    """Every request goes to the FeedServer on loopback; the request keeps its URL and Host."""

    def __init__(self, server: FeedServer):
        super().__init__()
        self.server = server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        original_host = request.url.netloc.decode()
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.server.port)
        request.headers["Host"] = original_host
        return super().handle_request(request)


def loopback_client(server: FeedServer) -> httpx.Client:
    from publisher.feeds.web import make_client

    return make_client(transport=Loopback(server))  # our client settings, every connection to loopback
