"""Fetching images into the media store: local files next to the article, http(s) URLs with a
size cap, a timeout and a Referer where a host needs one (httpx is imported when first needed)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from publisher.media.images import ImageInfo, placeholder_reason, sniff
from publisher.media.store import FetchFailed, MediaError, MediaStore

MAX_FETCH_BYTES = 20 * 1024 * 1024
"""Largest image fetched (``PUBLISHER_MAX_IMAGE_BYTES`` changes it)."""
FETCH_TIMEOUT = 20.0
"""Seconds for one image, connection and download together."""
REFERERS = {"mmbiz.qpic.cn": "https://mp.weixin.qq.com/", "mmbiz.qlogo.cn": "https://mp.weixin.qq.com/",
            "sinaimg.cn": "https://weibo.com/"}
"""Hosts that answer hotlinks without this Referer with a placeholder (suffix match)."""


@dataclass(frozen=True)
class Fetched:
    source: str
    sha256: str
    size: int
    info: ImageInfo
    cached: bool = False


class Fetcher:
    """Fetches images into a :class:`MediaStore` (each URL once).

    ``transport`` (an httpx transport) lets tests route hosts to a loopback server;
    ``offline`` refuses every URL (local files still work).
    """

    def __init__(self, store: MediaStore | None = None, *, timeout: float = FETCH_TIMEOUT,
                 max_bytes: int | None = None, transport: Any = None, offline: bool = False):
        self.store = store or MediaStore()
        self.timeout = timeout
        self.max_bytes = max_bytes or int(os.environ.get("PUBLISHER_MAX_IMAGE_BYTES") or MAX_FETCH_BYTES)
        self.transport = transport if transport is not None else _default_transport()
        self.offline = offline
        self._client: Any = None
        self._failed_hosts: dict[str, str] = {}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def fetch(self, source: str, base: Path | None = None, *, operator: bool = False) -> Fetched:
        """The image at ``source`` (a URL, or a path relative to ``base``), sniffed and stored.
        ``operator``: the path comes from the person running publisher (``edit --image``), not
        from an article, so any readable file is allowed."""
        source = source.strip().replace("&amp;", "&")
        scheme = urlsplit(source).scheme.lower()
        if scheme in ("http", "https"):
            known = self.store.remembered(source)
            if known:
                data = self.store.get(known)
                return Fetched(source, known, len(data), sniff(data, source), cached=True)
            data, headers = self._download(source)
        elif scheme in ("", "file") and not source.startswith("//"):
            data, headers = self._read_local(source, base, operator), {}
        else:
            raise MediaError(f"{source}: only http(s) links and relative paths are fetched")
        info = sniff(data, source)
        why = placeholder_reason(source, data, info, headers)
        if why:
            raise MediaError(f"{source}: {why}")
        digest = self.store.put(data)
        if scheme in ("http", "https"):
            self.store.remember(source, digest)
        return Fetched(source, digest, len(data), info)

    def _read_local(self, source: str, base: Path | None, operator: bool = False) -> bytes:
        if operator:
            path = (base or Path.cwd()) / Path(source.removeprefix("file://")).expanduser()
        else:
            if source.startswith("file:") or os.path.isabs(source) or base is None:
                raise MediaError(f"{source}: only paths relative to the article are read")
            folder = base.resolve()
            path = (folder / source).resolve()
            if folder != path and folder not in path.parents:
                raise MediaError(f"{source}: outside the article's folder; not read")
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise MediaError(f"{source}: {size:,} bytes, over the limit of {self.max_bytes:,}")
            return path.read_bytes()
        except FileNotFoundError:
            raise MediaError(f"{source}: no such file next to the article") from None
        except IsADirectoryError:
            raise MediaError(f"{source}: a folder, not an image") from None
        except OSError as exc:
            raise MediaError(f"{source}: cannot read it ({exc.strerror or exc})") from None

    def _http(self):
        if self._client is None:
            import httpx

            from publisher import __version__

            options: dict[str, Any] = {"follow_redirects": True, "max_redirects": 5,
                                       "timeout": httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                                       "headers": {"User-Agent": f"publisher/{__version__} (image fetch)",
                                                   "Accept": "image/avif,image/webp,image/png,image/*;q=0.8"}}
            if self.transport is not None:
                options["transport"] = self.transport
            self._client = httpx.Client(**options)
        return self._client

    def _download(self, url: str) -> tuple[bytes, dict[str, str]]:
        import httpx

        host = (urlsplit(url).hostname or "").lower()
        if self.offline:
            raise FetchFailed(f"{url}: not fetched (offline)")
        if host in self._failed_hosts:
            raise FetchFailed(f"{url}: not fetched ({host} failed before: {self._failed_hosts[host]})")
        headers = {}
        for suffix, referer in REFERERS.items():
            if host == suffix or host.endswith("." + suffix):
                headers["Referer"] = referer
        deadline = time.monotonic() + self.timeout
        try:
            with self._http().stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    raise MediaError(f"{url}: HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise MediaError(f"{url}: {int(declared):,} bytes, over the limit of {self.max_bytes:,}")
                chunks, total = [], 0
                for chunk in response.iter_bytes(65536):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise MediaError(f"{url}: more than {self.max_bytes:,} bytes; not fetched")
                    if time.monotonic() > deadline:
                        raise MediaError(f"{url}: took longer than {self.timeout:.0f} s; not fetched")
                    chunks.append(chunk)
                return b"".join(chunks), dict(response.headers)
        except httpx.TimeoutException:
            self._failed_hosts[host] = f"no answer within {self.timeout:.0f} s"
            raise FetchFailed(f"{url}: no answer within {self.timeout:.0f} s") from None
        except (httpx.HTTPError, OSError) as exc:
            reason = _short_reason(exc)
            if isinstance(exc, (httpx.ConnectError, OSError)):
                self._failed_hosts[host] = reason
            raise FetchFailed(f"{url}: cannot fetch it ({reason})") from None


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


_TRANSPORT_FACTORY: Callable[[], Any] | None = None


def _default_transport() -> Any:
    """The httpx transport for fetching (None: httpx's own). Tests route hosts to loopback
    by setting :data:`_TRANSPORT_FACTORY` (see tests/media_fixtures.py)."""
    return _TRANSPORT_FACTORY() if _TRANSPORT_FACTORY is not None else None
