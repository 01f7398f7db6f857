"""Real images made with Pillow, and a loopback HTTP server that serves them under any host name.

Images: :func:`png`, :func:`jpeg_with_exif`, :func:`animated_gif`, :func:`over_bluesky_limit`,
:func:`corrupt`, and :func:`wechat_placeholder` (a model of WeChat's hotlink placeholder: a
grey card with a dark band of text, served by the fake when a request for an ``mmbiz.qpic.cn``
image comes without WeChat's Referer).

:class:`ImageServer` answers ``GET`` for the paths it was given, whatever the Host header says;
:func:`routed` (an httpx transport) sends every http(s) request there, keeping the original
Host header, so the fetcher really talks HTTP to "mmbiz.qpic.cn". In a subprocess,
:data:`BOOTSTRAP` installs the same routing from ``$FAKE_MEDIA_URL``.
"""

from __future__ import annotations

import io
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def png(width: int = 800, height: int = 450, color: tuple[int, int, int] = (30, 120, 200), seed: int = 1) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(im)
    rng = random.Random(seed)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x, y, x + width // 6, y + height // 6), fill=(rng.randrange(256), rng.randrange(256), 90))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif(width: int = 640, height: int = 480, orientation: int = 1) -> bytes:
    from PIL import Image

    im = Image.open(io.BytesIO(png(width, height, (200, 60, 40), seed=2))).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "Model 1"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(0x8825)[0x0002] = (39.0, 54.0, 0.0)  # GPS latitude: private data that must go
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def animated_gif(width: int = 320, height: int = 240, frames: int = 6) -> bytes:
    from PIL import Image, ImageDraw

    images = []
    for i in range(frames):
        im = Image.new("P", (width, height), 0)
        im.putpalette([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 200, 0] + [0] * (256 * 3 - 12))
        ImageDraw.Draw(im).rectangle((i * 20, 40, i * 20 + 60, 120), fill=2 + i % 2)
        images.append(im)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def over_bluesky_limit() -> bytes:
    """A noisy 1400x1000 PNG, about 4 MB: over Bluesky's 1,000,000 bytes, fine for X."""
    from PIL import Image

    rng = random.Random(3)
    im = Image.frombytes("RGB", (1400, 1000), bytes(rng.getrandbits(8) for _ in range(1400 * 1000 * 3)))
    out = io.BytesIO()
    im.save(out, "PNG")
    data = out.getvalue()
    assert len(data) > 1_000_000
    return data


def corrupt() -> bytes:
    """A PNG cut off halfway: the header reads, the pixels do not."""
    data = png(600, 400, seed=4)
    return data[: len(data) // 2]


def wechat_placeholder() -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (640, 320), (240, 240, 240))
    ImageDraw.Draw(im).rectangle((200, 140, 440, 180), fill=(60, 60, 60))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@dataclass
class Served:
    data: bytes
    content_type: str = "image/png"
    referer: str | None = None
    """When set, a request without this Referer gets the WeChat placeholder instead."""


@dataclass
class Hit:
    host: str
    path: str
    referer: str | None


class ImageServer:
    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        self.hits: list[Hit] = []
        self.ignore_referer = False
        self.stall = 0.0
        """Seconds to wait before answering (a server that hangs)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host = (self.headers.get("Host") or "").split(":")[0]
                path = self.path
                referer = self.headers.get("Referer")
                server.hits.append(Hit(host, path, referer))
                if server.stall:
                    import time

                    time.sleep(server.stall)
                served = server.files.get(f"{host}{path}") or server.files.get(path)
                if served is None:
                    body, ctype, code = b"not found", "text/plain", 404
                elif served.referer and (referer != served.referer or server.ignore_referer):
                    body, ctype, code = wechat_placeholder(), "image/png", 200
                else:
                    body, ctype, code = served.data, served.content_type, 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeouts are the point of some tests)
                    self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, url_or_path: str, data: bytes, content_type: str = "image/png", referer: str | None = None) -> str:
        parts = urlsplit(url_or_path)
        key = (parts.hostname or "") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.files[key] = Served(data, content_type, referer)
        return url_or_path

    def __enter__(self) -> "ImageServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def routed(base_url: str):
    """An httpx transport sending every request to ``base_url`` (the Host header stays)."""
    import httpx

    target = urlsplit(base_url)

    class Routed(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.url = request.url.copy_with(scheme="http", host=target.hostname, port=target.port)
            return super().handle_request(request)

    return Routed()


def install(base_url: str) -> None:
    """Route every image fetch of this process to ``base_url``."""
    from publisher.media import fetch

    fetch._TRANSPORT_FACTORY = lambda: routed(base_url)


BOOTSTRAP = (
    "import os, sys; sys.path.insert(0, os.environ['FAKE_MEDIA_TESTS']); import media_fixtures; "
    "media_fixtures.install(os.environ['FAKE_MEDIA_URL']); "
    "x = os.environ.get('FAKE_X_URL'); "
    "x and __import__('fake_x').route_all_to(x); "
    "from publisher.cli import main; main()"
)


@dataclass
class SeedImages:
    """The seed's images served from loopback: URL -> bytes."""

    urls: dict[str, bytes] = field(default_factory=dict)


def serve_seed_images(server: ImageServer, article) -> SeedImages:
    """Serve every image of ``article`` (a PNG for png URLs, an animated GIF for gif URLs), with
    WeChat's Referer rule on mmbiz.qpic.cn."""
    seen = SeedImages()
    for i, image in enumerate(article.images):
        url = image.url.replace("&amp;", "&")
        if "wx_fmt=gif" in url:
            data, ctype = animated_gif(480 + i, 270), "image/gif"
        else:
            data, ctype = png(800 + i, 450, seed=10 + i), "image/png"
        referer = "https://mp.weixin.qq.com/" if "mmbiz.qpic.cn" in url else None
        server.add(url, data, ctype, referer)
        seen.urls[url] = data
    return seen
