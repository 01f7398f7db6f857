"""Articles from RSS/Atom feeds and web pages, written as ordinary article files.

A schedule.yaml source may have ``feed: URL`` and/or ``pages: [URL, ...]`` beside its
``path:``. Each new feed entry's page (and each listed page) is fetched, its main text
extracted to Markdown with trafilatura, and written into the source's folder as a normal
article file whose frontmatter carries the credits (``title``, ``author``, ``date``,
``publication``, ``source_url``, ``fetched_at``). Everything downstream (ingest, preview, edit,
the daemon's scan) is unchanged, and a person can open the file and fix it.

Rules:

* **Fetching** (:func:`http_get`): httpx, http(s) only, a connect/read timeout and an overall
  deadline, a size cap on the *decoded* body (``PUBLISHER_MAX_PAGE_BYTES``, default 5 MB, so a
  gzip bomb stops too), at most 5 redirects and only within the same site (``www.`` and
  http→https allowed; another host is refused, a loop is named). Conditional GET with the
  stored ETag / Last-Modified; a 304 does nothing.
* **Encodings** (:func:`decode_html`): the charset the server or the page declares is used
  (GB2312 and GBK are read with the GB18030 superset, as browsers do); with none declared the
  page must be UTF-8: publisher never guesses.
* **Seen entries** (tables ``feed_entries`` and ``feed_state``, migration ``m007_feeds``): an
  entry is known by its guid, else its link, else a hash of its content; a link already
  written from any feed or page list is the same article. An entry edited upstream rewrites
  the same file (a new revision of the same article, never a second thread); a file whose
  extracted content did not change is not touched. The first poll of a feed writes only its
  newest ``backfill`` entries and remembers the rest as seen.
* **Bad input** (HTTP errors, HTML error pages, login walls, pages with no article text,
  undecodable bytes, huge pages, redirect loops or redirects to another host) raises
  :class:`FetchError`: one line naming the URL.
* Files are written atomically (a hidden temporary file in the same folder, then a rename), so
  the daemon's scanner never reads half a file. A file a person edited is never overwritten:
  the upstream change goes to a hidden ``.NAME.upstream.md`` beside it, and the log says so.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from publisher.errors import PublisherError
from publisher.clock import ago as _ago

if TYPE_CHECKING:
    import httpx

    from publisher.schedule.config import Schedule, Source

log = logging.getLogger("publisher.feeds")

UTC = dt.timezone.utc
DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
DEADLINE = 60.0
"""Seconds one request may take in all (a server dripping bytes cannot hold a scan)."""
MAX_BACKOFF = dt.timedelta(hours=24)
PAGE_SCOPE = "page"
"""The scope of entries fetched as pages (``pages:`` lists and ``publisher fetch PAGE``)."""

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, " \
              "text/xml;q=0.8, */*;q=0.1"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"

_TRACKING = re.compile(r"^(utm_[a-z]+|spm|from|scene|share_token|fbclid|gclid|mc_[a-z]+)$", re.IGNORECASE)


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


# --- HTTP ----------------------------------------------------------------------------------------


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
    """GET ``url`` under our rules (see the module doc); FetchError for anything unusable.

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
    """The page as text, decoded as declared (see the module doc)."""
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


# --- extraction ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """A page's article: Markdown body and metadata (None where the page says nothing)."""

    url: str
    markdown: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    canonical: str | None = None
    site_name: str | None = None
    image: str | None = None
    description: str | None = None
    language: str | None = None


_WALL_WORDS = ("环境异常", "完成验证后即可继续访问", "请登录", "登录后查看", "登录后阅读", "sign in to continue",
               "log in to continue", "please log in", "subscribe to read", "访问过于频繁")
_GONE_WORDS = ("该内容已被发布者删除", "此内容因违规无法查看", "内容已删除", "页面不存在", "页面没有找到", "文章不存在",
               "此内容被多人投诉", "该公众号已迁移")
_ERROR_TITLE = re.compile(r"\b(404|403|500|502|503|not found|forbidden|error|access denied)\b|页面不存在|出错|错误|找不到",
                          re.IGNORECASE)
MIN_TEXT_CHARS = 40
"""Fewer characters of article text than this: not an article (an error page, a wall, a JS app)."""
FEED_TEXT_CHARS = 120
"""A feed entry whose content has at least this many characters (a summary: 3 × as many, since
summaries are often the first lines cut short) stands in for a page that cannot be read."""


def is_wechat(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == "mp.weixin.qq.com"


def _quiet_libraries() -> None:
    """trafilatura and its helpers log warnings ("discarding data: URL") through loggers with no
    handler, which Python prints on stderr: our one line per URL says what matters."""
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.ERROR)


def extract_article(html: str, url: str) -> Extracted:
    """The main text of a page as Markdown, and its metadata; FetchError when there is none."""
    import lxml.html
    import trafilatura

    _quiet_libraries()

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str input with an encoding declaration
    try:
        tree = lxml.html.document_fromstring(text)
    except Exception as exc:  # lxml raises ParserError, ValueError... on empty or broken input
        raise FetchError(url, f"not an HTML page ({_short(exc)})") from None
    meta = _meta(tree)
    wechat = is_wechat(url) or tree.get_element_by_id("js_content", None) is not None
    if wechat:
        info = _wechat(tree, html, meta)
        content = tree.get_element_by_id("js_content", None)
    else:
        info, content = {}, None
    _fix_images(tree, url)
    try:
        tree.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    except Exception:  # pragma: no cover - a base href lxml cannot parse
        pass
    images = _stand_in_images(tree)
    if content is not None:
        if "style" in content.attrib:
            del content.attrib["style"]  # WeChat hides the text until its scripts run
        _paragraphs(content)
        body = lxml.html.tostring(content, encoding="unicode")
        target: Any = f"<html><head><title>t</title></head><body>{body}</body></html>"
    else:
        target = tree
    try:
        doc = trafilatura.bare_extraction(target, url=url, with_metadata=True, include_images=True,
                                          include_links=True, include_formatting=True, include_tables=True,
                                          include_comments=False, favor_recall=content is not None)
    except Exception as exc:  # trafilatura or lxml giving up on a page: that page's problem only
        raise FetchError(url, f"cannot extract the article ({type(exc).__name__}: {_short(exc)})") from None
    markdown = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    for stand_in, real in images.items():
        markdown = markdown.replace(stand_in, real)
    page_title = meta.get("og:title") or (getattr(doc, "title", None) if doc is not None else None) or meta.get("title")
    plain = re.sub(r"[!\[\]()#*_>`\-|]|https?://\S+", "", markdown)
    page_text = " ".join(tree.text_content().split())
    if len("".join(plain.split())) < MIN_TEXT_CHARS:
        raise FetchError(url, _why_empty(page_text, page_title, tree), permanent=False)
    if any(w in page_text for w in _WALL_WORDS[:2]) and len(page_text) < 2000:
        raise FetchError(url, "a verification page (WeChat's 环境异常 wall), not the article")
    canonical = info.get("canonical") or meta.get("canonical") or meta.get("og:url") \
        or (getattr(doc, "url", None) if doc is not None else None)
    if canonical:
        canonical = urljoin(url, canonical)
    image = info.get("image") or meta.get("og:image") or (getattr(doc, "image", None) if doc is not None else None)
    title, suffix = _split_title(_clean(info.get("title") or page_title))
    site_name = _clean(info.get("publication") or meta.get("og:site_name"))
    if not site_name:
        found = _clean(getattr(doc, "sitename", None) if doc is not None else None)
        # trafilatura falls back to the host name; a title's "_网站名" suffix says more.
        site_name = suffix if suffix and (not found or found == (urlsplit(url).hostname or "")) else found
    return Extracted(
        url=url,
        markdown=_tidy_markdown(markdown),
        title=title,
        author=_clean(info.get("author") or (getattr(doc, "author", None) if doc is not None else None)
                      or meta.get("author")),
        date=info.get("date") or meta.get("date") or (getattr(doc, "date", None) if doc is not None else None),
        canonical=canonical,
        site_name=site_name,
        image=urljoin(url, image) if image else None,
        description=_clean(meta.get("og:description") or meta.get("description")
                           or (getattr(doc, "description", None) if doc is not None else None)),
        language=meta.get("lang"),
    )


def _split_title(title: str | None) -> tuple[str | None, str | None]:
    """``标题_新浪科技_新浪网`` -> (``标题``, ``新浪网``): Chinese sites end their <title> with
    ``_`` and the site's names (trafilatura already splits `` - `` and `` | ``)."""
    if not title or "_" not in title:
        return title, None
    parts = [p.strip() for p in title.split("_")]
    if len(parts[0]) >= 4 and all(1 <= len(p) <= 12 for p in parts[1:]):
        return parts[0], parts[-1]
    return title, None


def _why_empty(page_text: str, title: str | None, tree) -> str:
    low = page_text.lower()
    for word in _GONE_WORDS:
        if word in page_text:
            return f"the page says {word!r}: no article here"
    for word in _WALL_WORDS:
        if word.lower() in low:
            return f"a login or verification wall ({word!r}), not the article"
    if tree.xpath("//input[@type='password']"):
        return "a login page, not the article"
    if title and _ERROR_TITLE.search(title):
        return f"an error page ({title.strip()[:80]!r}), not an article"
    return ("no article text found (an error page, a login wall, or a page built by JavaScript?)")


def _meta(tree) -> dict[str, str]:
    """The page's own metadata: og:*, article:*, name=author/description, canonical, title, lang."""
    found: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = (el.get("content") or "").strip()
        if key and value and key not in found:
            found[key] = value
    out: dict[str, str] = {}
    for key in ("og:title", "og:site_name", "og:url", "og:image", "og:description", "description", "author"):
        if found.get(key):
            out[key] = found[key]
    if "author" not in out:
        for key in ("article:author", "og:article:author", "dc.creator", "byl"):
            if found.get(key) and not found[key].startswith("http"):
                out["author"] = found[key]
                break
    for key in ("article:published_time", "og:article:published_time", "pubdate", "publishdate", "dc.date",
                "date", "og:release_date"):
        if found.get(key):
            out["date"] = found[key]
            break
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            out["canonical"] = link.get("href").strip()
            break
    titles = tree.findall(".//title")
    if titles and (titles[0].text or "").strip():
        out["title"] = titles[0].text.strip()
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        out["lang"] = lang.strip()
    return out


_JS_VAR = r"""(?<![\w$]){name}\s*[=:]\s*(?:(?:htmlDecode|JsDecode)\()?\s*(["'])(.*?)\1"""
"""``var nickname = htmlDecode("…")``, ``var ct = "…"``, ``create_time: JsDecode('…')``: WeChat's
scripts carry what its HTML fills in only when they run."""


def _js_var(html: str, *names: str) -> str | None:
    for name in names:
        m = re.search(_JS_VAR.format(name=re.escape(name)), html)
        if m and m.group(2).strip():
            import html as html_mod

            return html_mod.unescape(m.group(2).strip().replace("\\x26", "&").replace("\\x0a", " "))
    return None


def _wechat(tree, html: str, meta: dict[str, str]) -> dict[str, str]:
    """WeChat's own layout: #activity-name, #js_name (the account: the publication), the
    author line, ``var ct`` (publication time, epoch seconds), og:url (the permanent link)."""
    def text_of(id_: str) -> str | None:
        el = tree.get_element_by_id(id_, None)
        value = " ".join(el.text_content().split()) if el is not None else ""
        return value or None

    info: dict[str, str] = {}
    title = meta.get("og:title") or text_of("activity-name") or _js_var(html, "msg_title")
    if title:
        info["title"] = title
    nickname = text_of("js_name") or _js_var(html, "nickname") or meta.get("og:site_name")
    if not nickname:
        names = tree.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' profile_nickname ')]")
        nickname = " ".join(names[0].text_content().split()) if names else None
    if nickname:
        info["publication"] = nickname
    author = meta.get("author") or text_of("js_author_name")
    if not author:
        spans = tree.xpath("//*[contains(@class, 'rich_media_meta_text')]")
        for span in spans:
            value = " ".join(span.text_content().split())
            if value and value != nickname and not re.search(r"\d{4}", value) and "原创" not in value:
                author = value
                break
    if author:
        info["author"] = author
    ct = _js_var(html, "ct", "create_time")
    when = None
    if ct and ct.isdigit():
        try:
            when = dt.datetime.fromtimestamp(int(ct), tz=dt.timezone(dt.timedelta(hours=8))).isoformat()
        except (ValueError, OverflowError, OSError):  # not a time this calendar has
            when = None
    if when:
        info["date"] = when
    else:
        published = text_of("publish_time")
        if published:
            info["date"] = published
    link = meta.get("og:url") or _js_var(html, "msg_link")
    if link:
        info["canonical"] = wechat_permalink(link)
    image = meta.get("og:image") or _js_var(html, "msg_cdn_url")
    if image:
        info["image"] = image
    return info


def wechat_permalink(url: str) -> str:
    """A WeChat article link without its session parameters: ``__biz``, ``mid``, ``idx``, ``sn``
    are the article; ``chksm``, ``scene``, ``#rd``... are who shared it and when."""
    parts = urlsplit(url.replace("&amp;", "&"))
    if parts.path.rstrip("/") != "/s" or "__biz" not in parts.query:
        return urlunsplit(("https", parts.netloc, parts.path, parts.query, ""))
    keep = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in ("__biz", "mid", "idx", "sn")]
    return urlunsplit(("https", parts.netloc, parts.path, urlencode(keep, safe="=="), ""))


_LAZY = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url", "data-echo")


def _fix_images(tree, url: str) -> None:
    """Lazy-loaded images (``data-src`` and friends, WeChat's among them) get their real ``src``."""
    for img in tree.iter("img"):
        src = (img.get("src") or "").strip()
        placeholder = not src or src.startswith("data:") or re.search(r"(blank|placeholder|spacer|loading)\.(gif|png|svg)",
                                                                      src, re.IGNORECASE)
        if placeholder:
            for attr in _LAZY:
                value = (img.get(attr) or "").strip()
                if value and not value.startswith("data:"):
                    img.set("src", value)
                    break


_STAND_IN = "https://publisher.invalid/image/{}.png"
_IMAGE_EXT = re.compile(r"\.(avif|bmp|gif|hei[cf]|jpe?g|png|webp)(\b|$)", re.IGNORECASE)
_BLOCKS = {"p", "section", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table", "figure",
           "pre", "article", "header", "footer", "hr"}


def _stand_in_images(tree) -> dict[str, str]:
    """trafilatura keeps only images whose URL ends in an image extension; CDNs (WeChat's
    ``…/640?wx_fmt=png`` among them) often have none. Such an image gets a stand-in URL for the
    extraction, put back in the Markdown afterwards."""
    stand_ins: dict[str, str] = {}
    for img in tree.iter("img"):
        src = (img.get("src") or "").strip()
        if src and not src.startswith("data:") and not _IMAGE_EXT.search(urlsplit(src).path):
            key = _STAND_IN.format(len(stand_ins) + 1)
            stand_ins[key] = src
            img.set("src", key)
            for attr in _LAZY:
                img.attrib.pop(attr, None)
    return stand_ins


def _paragraphs(content) -> None:
    """WeChat's editors build paragraphs out of ``<section><span>…</span></section>``: a section
    (or div) holding no other block is a paragraph."""
    for el in list(content.iter("section", "div")):
        if el is content:
            continue
        if not any(isinstance(child.tag, str) and child.tag in _BLOCKS for child in el.iterdescendants()):
            el.tag = "p"


def _tidy_markdown(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n"))
    return text.strip() + "\n"


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    import html as html_mod

    text = re.sub(r"<[^>]+>", "", html_mod.unescape(str(value)))
    text = " ".join(text.split())
    return text or None


# --- feeds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    key: str
    """guid:..., link:... or hash:... (see the module doc)."""
    link: str | None
    title: str | None
    author: str | None
    date: str | None
    summary: str | None
    content_html: str | None
    fingerprint: str
    """A hash of the entry's fields: when it changes, the page is fetched again."""
    order: int = 0


@dataclass(frozen=True)
class Feed:
    url: str
    title: str | None
    entries: tuple[FeedEntry, ...]


def looks_like_feed(resp: Response) -> bool:
    ctype = resp.content_type
    if "html" in ctype:
        return False
    if any(t in ctype for t in ("rss", "atom", "rdf", "xml")):
        return True
    head = resp.body[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf"))


def parse_feed(resp: Response) -> Feed:
    """RSS 0.9x/1.0/2.0 or Atom (feedparser, which reads the declared encoding itself)."""
    import feedparser

    url = resp.url
    headers = {"content-type": resp.headers.get("content-type", "application/xml"), "content-location": resp.final_url}
    parsed = feedparser.parse(resp.body, response_headers=headers)
    if not parsed.get("version"):
        head = resp.body[:2048].lower()
        if b"<html" in head or b"<!doctype html" in head or "html" in resp.content_type:
            m = re.search(rb"<title[^>]*>(.*?)</title>", resp.body[:8192], re.IGNORECASE | re.DOTALL)
            title = m.group(1).decode("utf-8", "replace").strip()[:80] if m else ""
            raise FetchError(url, "not a feed: an HTML page" + (f" ({title!r})" if title else ""))
        problem = parsed.get("bozo_exception")
        raise FetchError(url, "not an RSS or Atom feed" + (f" ({_short(problem)})" if problem else ""))
    title = _clean(parsed.feed.get("title"))
    entries = []
    for i, e in enumerate(parsed.entries):
        link = e.get("link")
        link = urljoin(resp.final_url, link.strip()) if link else None
        if link and urlsplit(link).scheme.lower() not in ("http", "https"):
            link = None
        content = None
        if e.get("content"):
            content = "\n".join(c.get("value", "") for c in e["content"] if c.get("value"))
        summary = e.get("summary")
        guid = (e.get("id") or "").strip()
        fingerprint = _sha(repr((e.get("title"), link, dict.get(e, "updated"), dict.get(e, "published"), summary, content)))
        if guid:
            key = f"guid:{guid}"
        elif link:
            key = f"link:{normalise_link(link)}"
        else:
            key = f"hash:{_sha(repr((e.get('title'), summary, content)))}"
        entries.append(FeedEntry(key=key, link=link, title=_clean(e.get("title")), author=_entry_author(e),
                                 date=_entry_date(e), summary=summary, content_html=content,
                                 fingerprint=fingerprint, order=i))
    return Feed(url, title, tuple(entries))


def _entry_author(e) -> str | None:
    if e.get("author"):
        return _clean(e["author"])
    names = [a.get("name") for a in e.get("authors") or () if a.get("name")]
    return _clean(", ".join(names)) if names else None


def _entry_date(e) -> str | None:
    """The entry's date as ISO 8601, keeping the feed's own offset (a Beijing morning is not
    yesterday in UTC)."""
    import email.utils

    for key in ("published", "updated", "created"):
        raw = (dict.get(e, key) or "").strip()  # dict.get: feedparser's e["updated"] falls back with a warning
        if not raw:
            continue
        try:
            return email.utils.parsedate_to_datetime(raw).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
        try:
            return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
        parsed = dict.get(e, f"{key}_parsed")
        if parsed:
            return dt.datetime(*parsed[:6], tzinfo=UTC).isoformat()
    return None


def normalise_link(url: str) -> str:
    """A link as identity: lower-case host, no fragment, no tracking parameters."""
    if is_wechat(url):
        return wechat_permalink(url)
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), (parts.netloc or "").lower(), parts.path or "/", query, ""))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _entry_sort_key(entry: FeedEntry) -> tuple:
    try:
        when = dt.datetime.fromisoformat(entry.date) if entry.date else None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    except ValueError:
        when = None
    # Newest first; entries without a date keep the feed's order (feeds list the newest first).
    return (0 if when else 1, -(when.timestamp() if when else 0), entry.order)


# --- the article file --------------------------------------------------------------------------------


def article_metadata(page: Extracted, *, entry: FeedEntry | None = None, feed: Feed | None = None,
                     fetched_at: dt.datetime) -> dict[str, Any]:
    """The frontmatter: feed fields win where they are better (see the README)."""
    source_url = None
    if page.canonical and same_site(page.canonical, page.url) \
            and urlsplit(page.canonical).scheme.lower() in ("http", "https"):
        source_url = page.canonical
    source_url = source_url or (entry.link if entry and entry.link else None) or page.url
    publication = page.site_name if is_wechat(page.url) else None
    publication = publication or (feed.title if feed else None) or page.site_name or _site(urlsplit(page.url).hostname)
    description = page.description
    if not description and entry and entry.summary:
        plain = _clean(entry.summary)
        if plain and len(plain) <= 200:
            description = plain
    meta: dict[str, Any] = {
        "title": (entry.title if entry and entry.title else None) or page.title,
        "author": (entry.author if entry and entry.author else None) or page.author,
        "date": (entry.date if entry and entry.date else None) or page.date,
        "publication": publication,
        "source_url": source_url,
        "feed": feed.url if feed else None,
        "image": page.image,
        "description": description,
        "fetched_at": fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {k: v for k, v in meta.items() if v}


def render_file(meta: dict[str, Any], markdown: str) -> str:
    import yaml

    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{head}---\n\n{markdown.strip()}\n"


def content_hash(meta: dict[str, Any], markdown: str) -> str:
    """What decides whether the article changed: everything but ``fetched_at``."""
    return _sha(repr(sorted((k, str(v)) for k, v in meta.items() if k != "fetched_at")) + "\n" + markdown.strip())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that no reader ever sees half of it (the daemon's scanner
    skips the hidden temporary file)."""
    from publisher.config import write_atomically

    write_atomically(path, text, mode=0o644)


def file_name(key: str, link: str | None, date: str | None, now: dt.datetime) -> str:
    """``2024-06-14-example-org-3f2a9c1b.md``: the date, the site, and a hash of the entry's identity
    (stable, so the same entry always maps to the same file)."""
    day = None
    if date:
        m = re.match(r"(\d{4}-\d{2}-\d{2})", date)
        day = m.group(1) if m else None
    day = day or now.astimezone(UTC).strftime("%Y-%m-%d")
    site = re.sub(r"[^a-z0-9]+", "-", _site(urlsplit(link).hostname) if link else "feed").strip("-")[:40] or "page"
    return f"{day}-{site}-{_sha(key)[:10]}.md"


# --- what was seen ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    scope: str
    key: str
    link: str | None
    path: str | None
    state: str
    fingerprint: str | None
    content_hash: str | None
    written_hash: str | None


@dataclass(frozen=True)
class PollState:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_polled: dt.datetime | None = None
    next_poll: dt.datetime | None = None
    failures: int = 0
    last_error: str | None = None
    polls: int = 0


def _iso(instant: dt.datetime | None) -> str | None:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def _from_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if text else None


class FeedStore:
    """Seen entries and each URL's polling state, in the queue database (migration m007_feeds)."""

    def __init__(self, db: Path | str):
        from publisher.queue.schema import apply

        from publisher.queue.database import is_postgres, target

        self.db = target(db)
        if not is_postgres(self.db):
            self.db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connect() as conn:
            apply(conn, dt.datetime.now(UTC).isoformat())

    def _connect(self) -> sqlite3.Connection:
        from publisher.queue.database import connect

        return connect(self.db)

    # -- entries --

    def find(self, scope: str, key: str, link: str | None) -> Seen | None:
        """The entry by its identity in ``scope``, else by its link in any scope."""
        cols = "scope, entry_key, link, path, state, fingerprint, content_hash, written_hash"
        with self._connect() as conn:
            row = conn.execute(f"SELECT {cols} FROM feed_entries WHERE scope = ? AND entry_key = ?",
                               (scope, key)).fetchone()
            if row is None and link:
                row = conn.execute(f"SELECT {cols} FROM feed_entries WHERE link = ? ORDER BY path IS NULL LIMIT 1",
                                   (normalise_link(link),)).fetchone()
        return Seen(*row) if row else None

    def known_in(self, scope: str) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM feed_entries WHERE scope = ?", (scope,)).fetchone()[0]

    def remember(self, scope: str, key: str, link: str | None, *, state: str, now: dt.datetime,
                 path: Path | str | None = None, fingerprint: str | None = None, content: str | None = None,
                 written: str | None = None, detail: str = "") -> None:
        with self._connect() as conn:
            conn.execute(
                """INSERT INTO feed_entries (scope, entry_key, link, path, state, fingerprint, content_hash,
                       written_hash, first_seen, last_fetched, detail)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (scope, entry_key) DO UPDATE SET
                       link = coalesce(excluded.link, feed_entries.link),
                       path = coalesce(excluded.path, feed_entries.path), state = excluded.state,
                       fingerprint = coalesce(excluded.fingerprint, feed_entries.fingerprint),
                       content_hash = coalesce(excluded.content_hash, feed_entries.content_hash),
                       written_hash = coalesce(excluded.written_hash, feed_entries.written_hash),
                       last_fetched = excluded.last_fetched, detail = excluded.detail""",
                (scope, key, normalise_link(link) if link else None, str(path) if path else None, state, fingerprint,
                 content, written, _iso(now), _iso(now), detail))

    # -- polling state --

    def state(self, url: str) -> PollState:
        with self._connect() as conn:
            row = conn.execute("SELECT url, etag, last_modified, last_polled, next_poll, failures, last_error, polls "
                               "FROM feed_state WHERE url = ?", (url,)).fetchone()
        if row is None:
            return PollState(url)
        return PollState(row[0], row[1], row[2], _from_iso(row[3]), _from_iso(row[4]), row[5], row[6], row[7])

    def save_state(self, s: PollState) -> None:
        with self._connect() as conn:
            conn.execute(
                """INSERT INTO feed_state (url, etag, last_modified, last_polled, next_poll, failures,
                       last_error, polls) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
                       last_polled = excluded.last_polled, next_poll = excluded.next_poll,
                       failures = excluded.failures, last_error = excluded.last_error, polls = excluded.polls""",
                (s.url, s.etag, s.last_modified, _iso(s.last_polled), _iso(s.next_poll), s.failures, s.last_error,
                 s.polls))


# --- fetching into a folder --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What fetching one URL (a page, or one feed entry) did; one log or output line."""

    url: str
    status: str
    """new, updated, unchanged, not_modified, skipped (backfill), kept (edited by hand), failed."""
    path: Path | None = None
    title: str | None = None
    detail: str = ""
    retry_after: float | None = None
    """Seconds the server asked us to wait (Retry-After), for a failed fetch."""
    transient: bool = False
    """A failed fetch that may work later (network, 5xx, 429)."""

    def line(self) -> str:
        where = f" -> {self.path}" if self.path else ""
        what = f" ({self.title})" if self.title else ""
        more = f": {self.detail}" if self.detail else ""
        if self.status == "failed":
            return self.detail if self.detail.startswith(self.url) else f"{self.url}: {self.detail}"
        return f"{self.status} {self.url}{where}{what}{more}"


class Fetcher:
    """Fetches feeds and pages into folders, remembering what it saw in a :class:`FeedStore`."""

    def __init__(self, store: FeedStore, *, client: "httpx.Client | None" = None,
                 clock: Callable[[], dt.datetime] | None = None, between: Callable[[], Any] | None = None,
                 should_stop: Callable[[], bool] | None = None):
        self.store = store
        self._client = client
        self.clock = clock or (lambda: dt.datetime.now(UTC))
        self.between = between
        """Called after each entry's page (the daemon handles the slots that came due)."""
        self.should_stop = should_stop or (lambda: False)
        """Asked before each entry's page: the rest waits for the next poll."""

    @property
    def client(self) -> "httpx.Client":
        if self._client is None:
            self._client = make_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- one URL of either kind (publisher fetch) --

    def fetch_url(self, url: str, folder: Path, *, backfill: int = 3, conditional: bool = True) -> list[Outcome]:
        """A feed (its entries) or a page, into ``folder``."""
        try:
            check_url(url)
            state = self.store.state(url)
            resp = http_get(url, client=self.client, accept=f"{PAGE_ACCEPT}, {FEED_ACCEPT}",
                            etag=state.etag if conditional else None,
                            last_modified=state.last_modified if conditional else None)
        except FetchError as exc:
            return [_failed(url, exc)]
        if resp.not_modified:
            self._polled(url, resp, ok=True)
            return [Outcome(url, "not_modified", detail="not modified since the last fetch (HTTP 304)")]
        if looks_like_feed(resp):
            return self._feed(url, resp, folder, backfill=backfill)
        self._polled(url, resp, ok=True)
        return [self._page(url, folder, resp=resp, scope=PAGE_SCOPE, key=f"link:{normalise_link(url)}")]

    # -- feeds --

    def poll_feed(self, url: str, folder: Path, *, backfill: int = 3, conditional: bool = True) -> list[Outcome]:
        """A feed's new and changed entries into ``folder`` (what is not a feed is an error)."""
        state = self.store.state(url)
        try:
            resp = http_get(url, client=self.client, accept=FEED_ACCEPT, etag=state.etag if conditional else None,
                            last_modified=state.last_modified if conditional else None)
        except FetchError as exc:
            return [_failed(url, exc)]
        if resp.not_modified:
            self._polled(url, resp, ok=True)
            return [Outcome(url, "not_modified")]
        return self._feed(url, resp, folder, backfill=backfill)

    def _feed(self, url: str, resp: Response, folder: Path, *, backfill: int) -> list[Outcome]:
        try:
            feed = parse_feed(resp)
        except FetchError as exc:
            return [_failed(url, exc)]
        first = self.store.known_in(url) == 0
        entries = sorted(feed.entries, key=_entry_sort_key)
        outcomes: list[Outcome] = []
        now = self.clock()
        todo: list[tuple[FeedEntry, str, str]] = []
        # First what is only remembered (the backfill's older entries), so that a poll stopped
        # halfway never lets them look new later.
        for rank, entry in enumerate(entries):
            seen = self.store.find(url, entry.key, entry.link)
            if seen is None and first and rank >= backfill:
                self.store.remember(url, entry.key, entry.link, state="skipped", now=now,
                                    fingerprint=entry.fingerprint, detail=f"older than the newest {backfill} "
                                                                          "on the first poll")
                outcomes.append(Outcome(entry.link or url, "skipped", title=entry.title,
                                        detail=f"backfill: only the newest {backfill} of a new feed"))
                continue
            if seen is not None and seen.state == "skipped":
                continue
            if seen is not None and seen.state in ("written", "kept", "gone", "failed") \
                    and seen.fingerprint == entry.fingerprint:
                continue  # nothing changed in the feed: the page is not fetched again
            todo.append((entry, *((seen.scope, seen.key) if seen is not None else (url, entry.key))))
        stopped = False
        for entry, scope, key in todo:
            if self.should_stop():
                stopped = True
                break
            outcomes.append(self._entry(url, feed, entry, folder, scope, key))
            if self.between is not None:
                self.between()
        if not stopped:  # a stopped poll asks again with no validators: the rest is still to fetch
            self._polled(url, resp, ok=True)
        if not outcomes:
            return [Outcome(url, "unchanged", title=feed.title, detail=f"nothing new ({len(entries)} entries known)")]
        return outcomes

    def _entry(self, url: str, feed: Feed, entry: FeedEntry, folder: Path, scope: str, key: str) -> Outcome:
        if entry.link is None:
            if not entry.content_html and not entry.summary:
                self.store.remember(scope, key, None, state="skipped", now=self.clock(), fingerprint=entry.fingerprint,
                                    detail="no link and no content")
                return Outcome(url, "skipped", title=entry.title, detail="an entry with neither a link nor content")
            html = f"<html><body><article>{entry.content_html or entry.summary}</article></body></html>"
            return self._page(url, folder, html=html, page_url=url, scope=scope, key=key, entry=entry, feed=feed)
        outcome = self._page(entry.link, folder, scope=scope, key=key, entry=entry, feed=feed)
        own = _feed_text(entry)
        if outcome.status == "failed" and not outcome.transient and own:
            # The page cannot be read (a wall, an error page...), but the feed carries the whole
            # text: that is the article, credited to the entry's link.
            html = f"<html><body><article>{own}</article></body></html>"
            fallback = self._page(entry.link, folder, html=html, page_url=entry.link, scope=scope, key=key,
                                  entry=entry, feed=feed)
            if fallback.status != "failed":
                problem = outcome.detail.split(": ", 1)[-1]
                return replace(fallback, detail=f"the text of the feed's entry (the page: {problem})")
        return outcome

    # -- pages --

    def fetch_page(self, url: str, folder: Path, *, conditional: bool = True) -> Outcome:
        """One page of a ``pages:`` list (conditional GET: an unchanged page costs a 304)."""
        state = self.store.state(url)
        try:
            check_url(url)
            resp = http_get(url, client=self.client, etag=state.etag if conditional else None,
                            last_modified=state.last_modified if conditional else None)
        except FetchError as exc:
            return _failed(url, exc)
        if resp.not_modified:
            self._polled(url, resp, ok=True)
            return Outcome(url, "not_modified")
        self._polled(url, resp, ok=True)
        return self._page(url, folder, resp=resp, scope=PAGE_SCOPE, key=f"link:{normalise_link(url)}")

    def _page(self, url: str, folder: Path, *, resp: Response | None = None, html: str | None = None,
              page_url: str | None = None, scope: str, key: str, entry: FeedEntry | None = None,
              feed: Feed | None = None) -> Outcome:
        now = self.clock()
        fingerprint = entry.fingerprint if entry else None
        try:
            if html is None:
                if resp is None:
                    resp = http_get(url, client=self.client)
                if resp.content_type and "html" not in resp.content_type and "xml" not in resp.content_type \
                        and not resp.content_type.startswith("text/"):
                    raise FetchError(url, f"not a web page ({resp.content_type})", permanent=True)
                html = decode_html(resp.body, resp.headers, url)
                page_url = resp.final_url
            page = extract_article(html, page_url or url)
            if entry is not None and entry.link is None:
                page = replace(page, url=url, canonical=None)
        except FetchError as exc:
            seen = self.store.find(scope, key, entry.link if entry else url)
            if seen is None or seen.state == "failed":
                # A page that is gone for good (404, 410, another host, not a web page) is not
                # asked again until its entry changes; others (walls, 5xx) at every poll.
                self.store.remember(scope, key, entry.link if entry else url, state="failed", now=now,
                                    fingerprint=fingerprint if exc.permanent else "", detail=str(exc))
            return _failed(url, exc)
        meta = article_metadata(page, entry=entry, feed=feed, fetched_at=now)
        link = entry.link if entry else url
        seen = self.store.find(scope, key, link)
        if entry is None and seen is not None and seen.scope != PAGE_SCOPE and seen.path:
            # A feed's entry fetched as a page: the feed's fields stay (they win where better).
            meta = {**meta, **_feed_fields(Path(seen.path))}
        digest = content_hash(meta, page.markdown)
        title = meta.get("title")
        if seen is not None and seen.content_hash == digest and seen.path:
            self.store.remember(seen.scope, seen.key, link, state=seen.state, now=now, fingerprint=fingerprint)
            return Outcome(url, "unchanged", Path(seen.path), title)
        text = render_file(meta, page.markdown)
        written = _sha(text)
        from publisher.articles.read import max_file_bytes

        limit = max_file_bytes()
        if len(text.encode("utf-8")) > limit:
            return Outcome(url, "failed", detail=f"{url}: the article is {_human(len(text.encode('utf-8')))}, over "
                                                 f"the {_human(limit)} an article file may have "
                                                 "(PUBLISHER_MAX_FILE_BYTES); not written")
        if seen is not None and seen.path:
            path = Path(seen.path)
            status = "updated"
            if not path.exists():
                self.store.remember(seen.scope, seen.key, link, state="gone", now=now, fingerprint=fingerprint,
                                    detail="the file was deleted")
                return Outcome(url, "kept", path, title, "changed upstream, but its file was deleted: not written again")
            on_disk = _sha_file(path)
            if seen.written_hash and on_disk != seen.written_hash:
                side = path.with_name(f".{path.stem}.upstream{path.suffix}")
                write_atomic(side, text)
                self.store.remember(seen.scope, seen.key, link, state="kept", now=now, fingerprint=fingerprint,
                                    content=digest, detail=f"edited by hand; upstream version in {side.name}")
                return Outcome(url, "kept", path, title, f"changed upstream, but the file was edited by hand: "
                                                         f"not overwritten; the new version is in {side}")
            scope, key = seen.scope, seen.key
        else:
            status = "new"
            path = folder / file_name(f"{scope}\n{key}", link, meta.get("date"), now)
            n = 2
            while path.exists():
                path = path.with_name(f"{path.stem.rsplit('~', 1)[0]}~{n}{path.suffix}")
                n += 1
        try:
            write_atomic(path, text)
        except OSError as exc:
            return Outcome(url, "failed", detail=f"{url}: cannot write {path}: {exc.strerror or exc}")
        self.store.remember(scope, key, link, state="written", now=now, path=path.resolve(), fingerprint=fingerprint,
                            content=digest, written=written)
        return Outcome(url, status, path, title)

    def _polled(self, url: str, resp: Response, *, ok: bool) -> None:
        old = self.store.state(url)
        self.store.save_state(replace(old, etag=resp.headers.get("etag") or (old.etag if resp.not_modified else None),
                                      last_modified=resp.headers.get("last-modified")
                                      or (old.last_modified if resp.not_modified else None),
                                      last_polled=self.clock(), polls=old.polls + 1))


def _feed_text(entry: FeedEntry) -> str | None:
    """The entry's own HTML when it looks like the whole article (see FEED_TEXT_CHARS)."""
    if entry.content_html and len(_clean(entry.content_html) or "") >= FEED_TEXT_CHARS:
        return entry.content_html
    if entry.summary and len(_clean(entry.summary) or "") >= 3 * FEED_TEXT_CHARS:
        return entry.summary
    return None


def _feed_fields(path: Path) -> dict[str, Any]:
    """The feed-given fields of an article file written from a feed entry."""
    try:
        import frontmatter

        meta = frontmatter.loads(path.read_text(encoding="utf-8")).metadata
    except Exception:  # a file someone broke: the page's own fields then
        return {}
    return {k: meta[k] for k in ("title", "author", "date", "publication", "feed") if meta.get(k)}


def _failed(url: str, exc: FetchError) -> Outcome:
    return Outcome(url, "failed", detail=str(exc), retry_after=exc.retry_after, transient=exc.transient)


def _sha_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --- the daemon's hook ---------------------------------------------------------------------------------


def next_delay(every: dt.timedelta, failures: int, retry_after: float | None = None) -> dt.timedelta:
    """When to poll again: ``every``; after n failures in a row, ``every`` × 2ⁿ (at most 24 h),
    and never before a Retry-After the server gave."""
    delay = every * (2 ** min(failures, 16)) if failures else every
    delay = min(delay, max(MAX_BACKOFF, every))
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds())))
    return delay


def poll_sources(schedule: "Schedule", db: Path | str, now: dt.datetime, *,
                 between: Callable[[], Any] | None = None, should_stop: Callable[[], bool] | None = None,
                 fetcher: Fetcher | None = None) -> list[Outcome]:
    """The daemon's hook, called at every scan: poll the feeds and pages whose time came.

    Each URL is polled every ``poll_every`` of its source; after an error, later and later
    (:func:`next_delay`). An error is logged once (again only when it changes), a recovery once.
    ``between`` runs after each URL (the daemon handles due slots there).
    """
    urls: list[tuple[str, str, "Source"]] = []
    for source in schedule.sources:
        if source.feed:
            urls.append(("feed", source.feed, source))
        for page in source.pages:
            urls.append(("page", page, source))
    if not urls:
        return []
    try:
        store = fetcher.store if fetcher is not None else FeedStore(db)
    except (sqlite3.Error, OSError, PublisherError) as exc:
        log.error("feeds: cannot open %s: %s (nothing fetched)", db, exc)
        return []
    own = fetcher is None
    fetcher = fetcher or Fetcher(store, clock=lambda: now, between=between, should_stop=should_stop)
    outcomes: list[Outcome] = []
    try:
        for kind, url, source in urls:
            if should_stop is not None and should_stop():
                break
            state = store.state(url)
            if state.next_poll is not None and state.next_poll > now:
                continue
            folder = schedule.source_dir(source)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                _log_failure(store, state, f"{url}: cannot create {folder}: {exc.strerror or exc}")
                store.save_state(replace(store.state(url), next_poll=now + source.poll_every))
                continue
            try:
                got = (fetcher.poll_feed(url, folder, backfill=source.backfill) if kind == "feed"
                       else [fetcher.fetch_page(url, folder)])
            except Exception as exc:  # a bug: one line, and the other sources go on
                if os.environ.get("PUBLISHER_DEBUG"):
                    log.exception("%s: internal error", url)
                got = [Outcome(url, "failed", detail=f"{url}: internal error {type(exc).__name__}: {exc}")]
            outcomes.extend(got)
            feed_failed = next((o for o in got if o.status == "failed" and o.url == url), None)
            state = store.state(url)
            if feed_failed is not None:
                failures = state.failures + 1
                _log_failure(store, state, feed_failed.detail,
                             f" (retrying in {_ago(next_delay(source.poll_every, failures))})")
                store.save_state(replace(store.state(url), failures=failures, last_error=feed_failed.detail,
                                         next_poll=now + next_delay(source.poll_every, failures,
                                                                    feed_failed.retry_after)))
            else:
                if state.failures or state.last_error:
                    log.info("%s: reachable again", url)
                store.save_state(replace(state, failures=0, last_error=None, next_poll=now + source.poll_every))
            for outcome in got:
                if outcome is feed_failed:
                    continue
                if outcome.status != "failed" and outcome.url != url:
                    entry_state = store.state(outcome.url)
                    if entry_state.last_error:  # an entry's page that failed before: news again next time
                        store.save_state(replace(entry_state, last_error=None))
                if outcome.status in ("new", "updated"):
                    log.info("fetched %s", outcome.line())
                elif outcome.status == "kept":
                    log.warning("fetched %s", outcome.line())
                elif outcome.status == "failed":
                    entry_state = store.state(outcome.url)
                    if entry_state.last_error != outcome.detail:
                        log.error("%s", outcome.line())
                        store.save_state(replace(entry_state, last_error=outcome.detail))
                else:
                    log.debug("fetched %s", outcome.line())
            if between is not None:
                between()
    except (sqlite3.Error, OSError) as exc:  # the database or the disk: say it, and go on with the scan
        log.error("feeds: %s (fetching stopped; tried again at the next scan)", exc)
    finally:
        if own:
            fetcher.close()
    return outcomes


def _log_failure(store: FeedStore, state: PollState, message: str, suffix: str = "") -> None:
    if state.last_error != message:
        log.error("%s%s", message, suffix)
    else:
        log.debug("%s (still failing)", message)


