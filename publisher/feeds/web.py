"""HTTP under the feeds' rules (see :mod:`publisher.feeds`): http(s) only, time-outs and a
deadline, a size cap on the decoded body, same-site redirects, conditional GET; and a page's
bytes to text as its charset declares. httpx is imported when first needed."""

from __future__ import annotations

import codecs
import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from publisher.errors import PublisherError

if TYPE_CHECKING:
    import httpx

UTC = dt.timezone.utc
DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
DEADLINE = 60.0
"""Seconds one request may take in all (a server dripping bytes cannot hold a scan)."""
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, " \
              "text/xml;q=0.8, */*;q=0.1"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class FetchError(PublisherError):
    """A feed or page that could not be used: ``URL: problem``, one line."""

    def __init__(self, url: str, problem: str, *, retry_after: float | None = None, permanent: bool = False,
                 transient: bool = False):
        self.url = url
        self.problem = problem
        self.retry_after = retry_after
        self.permanent = permanent
        self.transient = transient
        """The network or the server failed (timeout, 5xx, 429): the same request may work later."""
        super().__init__(f"{url}: {problem}")


def max_page_bytes() -> int:
    from publisher.config import env_bytes

    return env_bytes("PUBLISHER_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)


@dataclass(frozen=True)
class Response:
    url: str
    """The URL asked for."""
    final_url: str
    """Where the body came from, after (same-site) redirects."""
    status: int
    headers: dict[str, str]
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; else FetchError."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:  # "Invalid IPv6 URL", a bad port...
        raise FetchError(url, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise FetchError(url, "not an http(s) URL")
    if any(c.isspace() or ord(c) < 32 for c in url.strip()):
        raise FetchError(url, "not a valid URL (it contains spaces or control characters)")
    return url.strip()


def _site(host: str | None) -> str:
    host = (host or "").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """Same host, ignoring a leading ``www.`` (and the scheme and port)."""
    return _site(urlsplit(a).hostname) == _site(urlsplit(b).hostname)


def make_client(transport: "httpx.BaseTransport | None" = None) -> "httpx.Client":
    """The HTTP client: our timeouts, no automatic redirects (:func:`http_get` follows them itself)."""
    import httpx

    from publisher import __version__

    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(CONNECT_TIMEOUT, read=READ_TIMEOUT, write=READ_TIMEOUT, pool=CONNECT_TIMEOUT),
        follow_redirects=False,
        headers={"User-Agent": f"publisher/{__version__} (feed reader; +https://github.com/)"},
    )


def http_get(url: str, *, client: "httpx.Client | None" = None, etag: str | None = None,
             last_modified: str | None = None, accept: str = PAGE_ACCEPT, max_bytes: int | None = None,
             deadline: float = DEADLINE) -> Response:
    """GET ``url`` under our rules (see :mod:`publisher.feeds`); FetchError for anything unusable.

    A 304 comes back as a Response with ``not_modified``; every other status but 200 is an error.
    """
    import httpx

    check_url(url)
    limit = max_page_bytes() if max_bytes is None else max_bytes
    own = client is None
    client = client or make_client()
    start = time.monotonic()
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen = [url]
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with client.stream("GET", current, headers=headers) as resp:
                    status = resp.status_code
                    if status in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                        target = urljoin(current, resp.headers["location"].strip())
                        if urlsplit(target).scheme.lower() not in ("http", "https"):
                            raise FetchError(url, f"redirects to {target}, which is not an http(s) URL", permanent=True)
                        if not same_site(target, url):
                            raise FetchError(url, f"redirects to another host ({urlsplit(target).hostname}); "
                                                  "not followed: use that URL if it is right", permanent=True)
                        if target in seen:
                            raise FetchError(url, f"redirect loop ({' -> '.join(seen + [target])})")
                        seen.append(target)
                        current = target
                        continue
                    got = {k.lower(): v for k, v in resp.headers.items()}
                    if status == 304:
                        return Response(url, current, 304, got)
                    if status != 200:
                        raise _status_error(url, status, resp.reason_phrase, got)
                    declared = got.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(url, f"is {_human(int(declared))}, over the {_human(limit)} limit "
                                              "(raise it with PUBLISHER_MAX_PAGE_BYTES)")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise FetchError(url, f"is over the {_human(limit)} limit "
                                                  "(raise it with PUBLISHER_MAX_PAGE_BYTES)")
                        if time.monotonic() - start > deadline:
                            raise FetchError(url, f"took longer than {deadline:.0f}s; given up")
                        chunks.append(chunk)
                    return Response(url, current, 200, got, b"".join(chunks))
            except httpx.TimeoutException:
                raise FetchError(url, "timed out", transient=True) from None
            except httpx.TooManyRedirects:  # pragma: no cover - we follow redirects ourselves
                raise FetchError(url, "too many redirects") from None
            except httpx.DecodingError as exc:
                raise FetchError(url, f"the server sent a body that cannot be decompressed ({exc})") from None
            except httpx.HTTPError as exc:
                raise FetchError(url, f"cannot fetch: {_short(exc)}", transient=True) from None
            except (httpx.InvalidURL, ValueError, UnicodeError) as exc:  # a URL (or a Location) httpx refuses
                raise FetchError(url, f"not a valid URL ({_short(exc)})") from None
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects ({' -> '.join(seen)})")
    finally:
        if own:
            client.close()


def _status_error(url: str, status: int, reason: str, headers: dict[str, str]) -> FetchError:
    retry = None
    raw = headers.get("retry-after", "").strip()
    if raw.isdigit():
        retry = float(raw)
    elif raw:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(raw)
            retry = max(0.0, (when - dt.datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            retry = None
    what = f"HTTP {status}" + (f" {reason}" if reason else "")
    if status in (401, 403):
        what += " (a login wall or a blocked client)"
    elif status == 404 or status == 410:
        what += " (no such page)"
    elif status == 429:
        what += " (rate-limited)"
    return FetchError(url, what, retry_after=retry, permanent=status in (404, 410),
                      transient=status >= 500 or status in (408, 429))


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n} bytes"


# --- bytes to text -------------------------------------------------------------------------------

# Labels browsers read with a wider decoder (the WHATWG Encoding Standard): same bytes, more characters.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "ms936": "gb18030",
          "big5": "big5hkscs", "latin_1": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252"}
# Labels of the WHATWG Encoding Standard (what browsers accept) that Python's codecs do not know.
_LABELS = {"x-gbk": "gb18030", "gb_2312": "gb18030", "gb_2312-80": "gb18030", "csgb2312": "gb18030",
           "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs", "unicode-1-1-utf-8": "utf-8",
           "unicode11utf8": "utf-8", "unicode20utf8": "utf-8", "x-unicode20utf8": "utf-8",
           "x-sjis": "cp932", "windows-31j": "cp932", "ms932": "cp932"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)


def declared_charset(body: bytes, headers: dict[str, str]) -> tuple[str | None, str]:
    """(charset label, where it was declared) for a page: the HTTP header, a BOM, the page."""
    ctype = headers.get("content-type", "")
    m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", ctype, re.IGNORECASE)
    if m:
        return m.group(1), "the server"
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "a byte-order mark"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "a byte-order mark"
    head = body[:4096]
    m = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    if m:
        return m.group(1).decode("ascii"), "the page"
    return None, ""


def decode_html(body: bytes, headers: dict[str, str], url: str) -> str:
    """The page as text, decoded as declared (see :mod:`publisher.feeds`)."""
    label, where = declared_charset(body, headers)
    if label is None:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FetchError(url, f"declares no encoding and is not UTF-8 (invalid byte 0x{body[exc.start]:02x} "
                                  f"at offset {exc.start}); publisher does not guess encodings") from None
    try:
        codec = codecs.lookup(_LABELS.get(label.strip().lower(), label)).name
    except LookupError:
        raise FetchError(url, f"{where} declares the encoding {label!r}, which is unknown") from None
    codec = _WIDER.get(codec, codec)
    text = body.decode(codec, errors="replace")
    bad = text.count("\ufffd")
    if bad > max(8, len(body) // 500):
        raise FetchError(url, f"is not valid {label} as {where} declares ({bad} bytes cannot be decoded)")
    return text.replace("\ufffd", "") if bad else text
