"""Images for threads: choose them, fetch them once, fit them to each platform, store them.

The flow (see the README, "Images and link cards"):

* **Choose** (:func:`choose`): the *lead image* for the hook — the first content image of the
  article that is not a banner, QR code, logo or read-more image — and, with
  ``threads.images: points``, the image next to the paragraph a point comes from.
* **Fetch** (:class:`Fetcher`), at ingest only: local paths relative to the article (inside its
  folder) and http(s) URLs, with a size cap, a timeout, a Referer for hosts that need one
  (WeChat's ``mmbiz.qpic.cn``), content sniffed with Pillow (the extension and the server's
  Content-Type are never trusted), WeChat's hotlink placeholder refused.
* **Store** (:class:`MediaStore`): content-addressed files under ``$PUBLISHER_HOME/media/``
  (``ab/abcdef…``), so a preview, an edit or a publish never fetches again.
* **Fit** (:func:`fit`): each platform's limits (Bluesky 1,000,000 bytes; X 5 MB, GIFs 15 MB;
  Mastodon 16 MB), animated GIFs kept where the platform takes them, else their first frame;
  EXIF stripped (JPEG losslessly when the orientation needs no rotation); re-encoded only when
  needed.
* **Alt text and credit** (:func:`alt_text`): the Markdown alt text when it is real, else the
  caption, else the sentence before the image, translated; the 图源 credit goes in the alt text
  and, as an "Image: …" line, in the post that carries the image. An image whose credit cannot
  be placed is not posted.

Uploading and posting live in the platform adapters and :mod:`publisher.publishing.publish`; the upload
ledger (media ids stored before the post that uses them is sent) is at the end of this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from publisher.errors import PublisherError
from publisher.platforms import registry
from publisher.text import HAN as _HAN
from publisher.text import LINK

if TYPE_CHECKING:
    import sqlite3

    from publisher.models import Article, Image, LinkCard, PostImage, Thread, TranslatedArticle
    from publisher.threads.render import ThreadDraft
    from publisher.translate.base import Translator

MODES = ("none", "lead", "points")
DEFAULT_MODE = "lead"
MAX_FETCH_BYTES = 20 * 1024 * 1024
"""Largest image fetched (``PUBLISHER_MAX_IMAGE_BYTES`` changes it)."""
FETCH_TIMEOUT = 20.0
"""Seconds for one image, connection and download together."""
MAX_PIXELS = 60_000_000
"""Pillow refuses images with more pixels (a decompression bomb guard)."""
MAX_LEAD_TRIES = 6
"""Candidates fetched at most when looking for the lead image."""
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
REFERERS = {"mmbiz.qpic.cn": "https://mp.weixin.qq.com/", "mmbiz.qlogo.cn": "https://mp.weixin.qq.com/",
            "sinaimg.cn": "https://weibo.com/"}
"""Hosts that answer hotlinks without this Referer with a placeholder (suffix match)."""
WECHAT_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
PLACEHOLDER_AHASHES: frozenset[str] = frozenset({
    # 16x16 average hash of WeChat's "此图片来自微信公众平台 未经允许不可引用" placeholder as the
    # tests model it (tests/media_fixtures.py); add the hash of any placeholder met in the wild.
    "fffffffffffffffffffffffff81ff00ff00ff81fffffffffffffffffffffffff",
})
_PLACEHOLDER_DISTANCE = 12
_GENERIC_ALT = re.compile(r"^\s*(?:图片|图|image|img|photo|picture|pic|照片|配图|插图|封面|gif|动图|screenshot|截图)?"
                          r"\s*\d*\s*(?:\.(?:png|jpe?g|gif|webp))?\s*$", re.IGNORECASE)
_NOT_CONTENT = re.compile(r"qr[-_ ]?code|\bqr\b|二维码|扫码|logo|banner|头像|avatar|read ?more|阅读原文|关注|follow|"
                          r"subscribe|广告|\bad\b|divider|分割线", re.IGNORECASE)
_CAPTION_START = re.compile(r"^\s*(?:[▲△▼↑↓]|图\s*\d|如图|上图|下图|图注|图为|图中|Figure|Fig\.)", re.IGNORECASE)
ALT_LIMITS = {s.name: s.alt_text_limit for s in registry.SPECS.values()}
"""Alt text limits (the registry's): X 1,000 characters, Mastodon 1,500 (description_limit), Bluesky 2,000."""


class MediaError(PublisherError):
    """An image that cannot be used: the message names it and the problem, in one line."""


class FetchFailed(MediaError):
    """The image could not be fetched at all (offline, host unreachable, timeout)."""


# --- identity (part of Thread.content_hash) ---------------------------------------------------


def media_identity(media: Sequence["PostImage"], card: "LinkCard | None") -> str:
    """What approval covers of a thread's images and card: bytes, alt text, credit, placement."""
    parts = [f"{m.post}|{m.sha256}|{m.alt}|{m.credit or ''}" for m in media]
    if card is not None:
        parts.append(f"card|{card.post}|{card.uri}|{card.title}|{card.description}|"
                     f"{card.thumb.sha256 if card.thumb else ''}")
    return "\n".join(parts)


# --- the store -------------------------------------------------------------------------------


class MediaStore:
    """Content-addressed image files: ``root/ab/abcdef…`` (sha256 of the bytes), plus
    ``root/by-url/<sha256 of the URL>`` holding the content hash a URL gave, so that an image
    is fetched once however often it is previewed or ingested."""

    def __init__(self, root: Path | str | None = None):
        if root is None:
            from publisher.config import Paths

            root = Paths.from_env().home / "media"
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise MediaError(f"not a media hash: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if path.is_file() and path.stat().st_size == len(data):
            return digest
        self._write(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MediaError(f"image {sha256[:12]} is missing from {self.root} (deleted?); "
                             "drop or replace it with `publisher edit`") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaError(f"image {sha256[:12]} in {self.root} is damaged (its bytes changed); "
                             "drop or replace it with `publisher edit`")
        return data

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remembered(self, url: str) -> str | None:
        """The content hash ``url`` gave before, when its bytes are still here."""
        try:
            digest = (self.root / "by-url" / _url_key(url)).read_text().strip()
        except OSError:
            return None
        return digest if re.fullmatch(r"[0-9a-f]{64}", digest) and self.has(digest) else None

    def remember(self, url: str, sha256: str) -> None:
        self._write(self.root / "by-url" / _url_key(url), sha256.encode())

    def _write(self, path: Path, data: bytes) -> None:
        from publisher.config import write_atomically

        for folder in (self.root, path.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(path, data, mode=0o600)


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


# --- sniffing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    format: str
    """JPEG, PNG, GIF or WEBP, as the bytes say."""
    width: int
    height: int
    frames: int
    has_exif: bool
    orientation: int
    has_alpha: bool

    @property
    def mime(self) -> str:
        return FORMATS[self.format]

    @property
    def animated(self) -> bool:
        return self.frames > 1


def _pillow():
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    return Image


def sniff(data: bytes, where: str) -> ImageInfo:
    """What the bytes are, decoded in full by Pillow; MediaError for anything else."""
    Image = _pillow()
    from PIL import UnidentifiedImageError

    if not data:
        raise MediaError(f"{where}: empty file, not an image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            frames = int(getattr(im, "n_frames", 1) or 1)
            exif = im.getexif()
            orientation = int(exif.get(0x0112, 1) or 1)
            has_exif = bool(exif) or "exif" in im.info or "xmp" in im.info or b"XML:com.adobe.xmp" in data[:65536]
            alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            width, height = im.size
    except UnidentifiedImageError:
        raise MediaError(f"{where}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(f"{where}: image too large (more than {MAX_PIXELS:,} pixels)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"{where}: damaged image ({exc})") from None
    if fmt not in FORMATS:
        raise MediaError(f"{where}: {fmt} images are not posted (only JPEG, PNG, GIF and WebP)")
    return ImageInfo(format=fmt, width=width, height=height, frames=frames, has_exif=has_exif,
                     orientation=orientation, has_alpha=alpha)


def average_hash(data: bytes, size: int = 16) -> str:
    """A perceptual fingerprint (average hash) of the first frame, as hex."""
    Image = _pillow()
    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("L").resize((size, size), Image.Resampling.BILINEAR)
        pixels = list(small.tobytes())
    mean = sum(pixels) / len(pixels)
    bits = "".join("1" if p > mean else "0" for p in pixels)
    return f"{int(bits, 2):0{size * size // 4}x}"


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def placeholder_reason(url: str, data: bytes, info: ImageInfo, headers: Mapping[str, str] | None = None) -> str | None:
    """Why bytes from a WeChat host are its hotlink placeholder, not the image (None: they are not)."""
    host = (urlsplit(url).hostname or "").lower()
    if not any(host == h or host.endswith("." + h) for h in WECHAT_HOSTS):
        return None
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if headers.get("x-errno") or "notexist" in headers.get("x-info", ""):
        return f"WeChat refused the image (x-errno {headers.get('x-errno') or headers.get('x-info')})"
    wanted = (parse_qs(urlsplit(url).query).get("wx_fmt") or [""])[0].lower()
    if "/sz_mmbiz_" in url:
        wanted = wanted or url.split("/sz_mmbiz_", 1)[1].split("/", 1)[0].lower()
    asked = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}.get(wanted)
    fingerprint = average_hash(data)
    if any(_distance(fingerprint, known) <= _PLACEHOLDER_DISTANCE for known in PLACEHOLDER_AHASHES):
        return "WeChat's hotlink placeholder (此图片来自微信公众平台), not the image"
    if asked and asked != info.format and info.format != "WEBP":  # CDNs may transcode to WebP
        return (f"WeChat answered with a {info.format} for a {asked} image: its hotlink placeholder, "
                "not the image")
    return None


# --- fetching --------------------------------------------------------------------------------


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


# --- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    """Largest still image."""
    max_gif_bytes: int | None
    """Largest animated GIF kept animated (None: GIFs are posted as their first frame)."""
    max_side: int
    max_pixels: int
    per_post: int


LIMITS = {
    # X: images 5 MB, animated GIFs 15 MB; 4 images per post.
    "x": Limits(max_bytes=5 * 1024 * 1024, max_gif_bytes=15 * 1024 * 1024, max_side=8192, max_pixels=8192 * 8192,
                per_post=4),
    # Mastodon: image_size_limit 16 MB and image_matrix_limit 33,177,600 pixels (4.x); 4 attachments.
    "mastodon": Limits(max_bytes=16 * 1024 * 1024, max_gif_bytes=16 * 1024 * 1024, max_side=8192,
                       max_pixels=33_177_600, per_post=4),
    # Bluesky: 1,000,000 bytes per image, 4 per post; the images embed shows stills only.
    "bluesky": Limits(max_bytes=1_000_000, max_gif_bytes=None, max_side=4096, max_pixels=4096 * 4096, per_post=4),
}


@dataclass(frozen=True)
class Fitted:
    data: bytes
    mime: str
    width: int
    height: int
    animated: bool
    changed: str
    """What was done: "as is", "EXIF removed", "re-encoded as JPEG, 1600x900"…"""

    @property
    def size(self) -> int:
        return len(self.data)


def fit(data: bytes, platform: str, where: str = "image") -> Fitted:
    """The bytes ``platform`` accepts for this image: unchanged when they already fit (EXIF
    removed), else re-encoded and scaled down until they do."""
    limits = LIMITS[platform]
    info = sniff(data, where)
    if info.animated:
        if limits.max_gif_bytes is not None and info.format == "GIF" and len(data) <= limits.max_gif_bytes \
                and info.width * info.height <= limits.max_pixels and max(info.width, info.height) <= limits.max_side:
            return Fitted(data, info.mime, info.width, info.height, True, "as is (animated)")
        return _reencode(data, info, limits, where, first_frame=True)
    fits = (len(data) <= limits.max_bytes and info.width * info.height <= limits.max_pixels
            and max(info.width, info.height) <= limits.max_side)
    if fits and not info.has_exif:
        return Fitted(data, info.mime, info.width, info.height, False, "as is")
    if fits and info.format == "JPEG" and info.orientation == 1:
        stripped = strip_jpeg_metadata(data)
        if len(stripped) <= limits.max_bytes:
            return Fitted(stripped, info.mime, info.width, info.height, False, "EXIF removed")
    if fits and info.format == "PNG" and info.orientation == 1:
        Image = _pillow()
        with Image.open(io.BytesIO(data)) as im:
            buffer = io.BytesIO()
            im.save(buffer, "PNG", optimize=True)  # lossless; Pillow writes no EXIF/text chunks unless asked
        if len(buffer.getvalue()) <= limits.max_bytes:
            return Fitted(buffer.getvalue(), info.mime, info.width, info.height, False, "EXIF removed")
    return _reencode(data, info, limits, where, first_frame=info.animated)


def _reencode(data: bytes, info: ImageInfo, limits: Limits, where: str, *, first_frame: bool) -> Fitted:
    """Re-encode (JPEG, or PNG when transparency is used) and scale down until it fits: each
    try that is too big scales by the square root of the size ratio (2 or 3 encodes usually);
    a small overshoot lowers the JPEG quality first."""
    Image = _pillow()
    from PIL import ImageOps

    scale = min(1.0, (limits.max_pixels / (info.width * info.height)) ** 0.5, limits.max_side / max(info.width, info.height))
    if info.format == "JPEG" and len(data) > limits.max_bytes:  # a JPEG again: about as many bytes per pixel
        scale = min(scale, (limits.max_bytes * 0.9 / len(data)) ** 0.5)
    with Image.open(io.BytesIO(data)) as src:
        src.seek(0)
        if src.format == "JPEG" and scale < 1.0:  # decode at a reduced size directly (DCT scaling)
            src.draft("RGB", (int(info.width * scale), int(info.height * scale)))
        im = ImageOps.exif_transpose(src.copy()) if info.orientation != 1 else src.copy()
    alpha = info.has_alpha and _uses_alpha(im)
    im = im.convert("RGBA" if alpha else "RGB")
    upright = (info.height, info.width) if info.orientation in (5, 6, 7, 8) else (info.width, info.height)
    fmt = "PNG" if alpha else "JPEG"
    quality = 85
    for _ in range(16):
        size = (max(1, round(upright[0] * scale)), max(1, round(upright[1] * scale)))
        frame = im if size == im.size else im.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if fmt == "JPEG":
            frame.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        else:
            frame.save(buffer, "PNG", optimize=True)
        out = buffer.getvalue()
        if len(out) <= limits.max_bytes:
            label = f"re-encoded as {fmt}" + (f" {size[0]}x{size[1]}" if size != upright else "")
            return Fitted(out, FORMATS[fmt], size[0], size[1], False, ("first frame, " if first_frame else "") + label)
        ratio = limits.max_bytes / len(out)
        if fmt == "JPEG" and quality > 70 and ratio > 0.85:
            quality -= 10
            continue
        scale *= min(0.9, ratio ** 0.5 * 0.95)
    raise MediaError(f"{where}: cannot be made small enough ({len(data):,} bytes)")


def _uses_alpha(im: Any) -> bool:
    if im.mode == "P":
        im = im.convert("RGBA")
    if "A" not in im.getbands():
        return False
    low, _ = im.getchannel("A").getextrema()
    return low < 255


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without its APP1 (EXIF, XMP) and comment segments, losslessly: the image data
    is copied byte for byte. ICC profiles (APP2) and JFIF (APP0) are kept."""
    if data[:2] != b"\xff\xd8":
        return data
    out = bytearray(b"\xff\xd8")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return data  # not a marker where one must be: leave it alone
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[i:]
            return bytes(out)
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            out += data[i:i + 2]
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        segment = data[i:i + 2 + length]
        if marker not in (0xE1, 0xFE) and not (0xE3 <= marker <= 0xEF and marker != 0xEE):
            out += segment
        i += 2 + length
    return data


# --- choosing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    image: "Image"
    block: int
    """Index of the block (in Article.blocks) that holds it."""


def candidates(article: "Article") -> list[Candidate]:
    """Content images in reading order: not in boilerplate, not wrapped in read-more links, not
    named like a QR code, logo or banner, not next to a follow-us line."""
    out = []
    blocks = article.blocks
    for index, block in enumerate(blocks):
        if not block.images or block.boilerplate:
            continue
        neighbours = [blocks[j] for j in (index - 1, index + 1) if 0 <= j < len(blocks)]
        if any(n.boilerplate in ("follow-us line", "read-more banner", "promotion") for n in neighbours):
            continue
        for image in block.images:
            words = " ".join(x for x in (image.alt, image.url, image.link or "") if x)
            if _NOT_CONTENT.search(words) or (image.link and not image.link.startswith(("http://", "https://"))):
                continue
            if not image.url.strip() or image.url.strip().startswith("data:"):
                continue
            out.append(Candidate(image, index))
    return out


def shape_problem(data: bytes, info: ImageInfo) -> str | None:
    """Why an image looks like a banner, icon/logo or QR code rather than content."""
    w, h = info.width, info.height
    if max(w, h) < 200:
        return f"too small to be content ({w}x{h}: an icon or logo)"
    if w >= 4 * h or h >= 4 * w:
        return f"a banner or divider ({w}x{h})"
    if 0.9 <= w / h <= 1.1 and max(w, h) <= 1200 and _mostly_black_and_white(data):
        return "a QR code"
    return None


def _mostly_black_and_white(data: bytes) -> bool:
    Image = _pillow()
    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("L").resize((64, 64), Image.Resampling.NEAREST)
        pixels = list(small.tobytes())
    extreme = sum(1 for p in pixels if p < 50 or p > 205)
    dark = sum(1 for p in pixels if p < 50)
    return extreme >= 0.92 * len(pixels) and 0.2 <= dark / len(pixels) <= 0.7


@dataclass(frozen=True)
class Chosen:
    """An image chosen for a post, fetched, with its alt text and credit."""

    post: int
    fetched: Fetched
    description: str
    """Alt text without the credit."""
    credit: str | None
    label: str | None
    """The credit as the post shows it ("Image: …")."""
    candidate: Candidate


def alt_text(article: "Article", translated: "TranslatedArticle | None", candidate: Candidate,
             translate: Callable[[str], str] | None = None) -> str:
    """The image's description: its Markdown alt text when real, else a caption next to it,
    else the sentence before it (English when a translation is there), without a trailing colon."""
    return re.sub(r"\s*[:：]+\s*$", "", _alt_text(article, translated, candidate, translate)) or \
        "An image from the original article."


def _alt_text(article: "Article", translated: "TranslatedArticle | None", candidate: Candidate,
              translate: Callable[[str], str] | None = None) -> str:
    image = candidate.image
    alt = " ".join(image.alt.split())
    if alt and not _GENERIC_ALT.match(alt) and not re.fullmatch(r"[\w.-]+\.(?:png|jpe?g|gif|webp)", alt, re.I):
        if _HAN.search(alt) and translate is not None:
            alt = translate(alt)
        if not _HAN.search(alt):
            return alt
    blocks = article.blocks
    after = candidate.block + 1
    while after < len(blocks) and blocks[after].kind == "credit":
        after += 1

    def english(index: int) -> str:
        if translated is not None and index < len(translated.blocks):
            return " ".join(translated.blocks[index].text.split())
        return " ".join(blocks[index].text.split())

    if after < len(blocks) and blocks[after].kind == "paragraph" and not blocks[after].boilerplate \
            and (_CAPTION_START.match(blocks[after].text) or len(blocks[after].text) <= 40):
        caption = re.sub(r"^[▲△▼↑↓\s]+", "", english(after))
        if caption and not (_HAN.search(caption) and translated is not None and translated.translated):
            return caption
    before = candidate.block - 1
    while before >= 0 and (blocks[before].kind in ("credit", "image", "rule") or blocks[before].boilerplate):
        before -= 1
    if before >= 0 and blocks[before].is_content:
        sentences = [s for s in re.split(r"(?<=[.!?。！？])\s+", english(before)) if s.strip()]
        if sentences:
            return sentences[-1].rstrip(":：").strip()
    return "An image from the original article."


def credit_text(image: "Image", translate: Callable[[str], str] | None = None) -> str | None:
    """The 图源 credit as written (a link or a name; Chinese names translated)."""
    credit = (image.credit or "").strip()
    if image.credit_url and (not credit or credit.startswith("http")):
        return image.credit_url
    if not credit:
        return None
    if _HAN.search(credit) and translate is not None:
        translated = translate(credit).strip()
        return translated or credit
    return credit


_SITE_NAMES = {"x.com": "X", "twitter.com": "X", "weibo.com": "Weibo", "weibo.cn": "Weibo", "youtube.com": "YouTube",
               "youtu.be": "YouTube", "bilibili.com": "Bilibili", "github.com": "GitHub", "zhihu.com": "Zhihu",
               "douyin.com": "Douyin", "kuaishou.com": "Kuaishou", "xiaohongshu.com": "Xiaohongshu",
               "weixin.qq.com": "WeChat", "huggingface.co": "Hugging Face", "arxiv.org": "arXiv",
               "reddit.com": "Reddit", "instagram.com": "Instagram", "tiktok.com": "TikTok"}


def credit_label(credit: str) -> str:
    """The credit as a post shows it, without a link (on X a link costs more and belongs to the
    attribution post; the full link is in the alt text): "CharaspowerAI on X", "Weibo"."""
    credit = credit.strip()
    if not re.match(r"^(?:https?://)?[\w.-]+\.[a-z]{2,}(?:/\S*)?$", credit, re.I):
        text = LINK.sub("", credit).strip(" :：-")
        return _unlinked(text or credit)
    parts = urlsplit(credit if "://" in credit else "https://" + credit)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("mobile.")
    site = next((name for domain, name in _SITE_NAMES.items() if host == domain or host.endswith("." + domain)), None)
    segments = [s for s in parts.path.split("/") if s]
    if site == "X" and segments and segments[0] not in ("i", "home", "search"):
        return f"{segments[0]} on X"
    if site:
        return site
    labels = host.split(".")
    name = labels[-2] if len(labels) >= 2 else host
    return name[:1].upper() + name[1:]


def _unlinked(text: str) -> str:
    """``text`` that no platform turns into a link or a mention."""
    from publisher.threads.render import make_inert

    text = make_inert(text).text
    return re.sub(r"\b([\w-]+)\.([a-z]{2,})\b", r"\1 \2", text)


def credit_line(label: str) -> str:
    return f"Image: {label}"


def full_alt(description: str, credit: str | None, platform: str) -> str:
    """Alt text within the platform's limit; the credit is always whole, the description is cut."""
    limit = ALT_LIMITS[platform]
    tail = f" (Image: {credit})" if credit else ""
    room = limit - len(tail)
    if room < 20:
        return (description[: max(limit - len(credit or '') - 10, 0)] + tail)[:limit]
    desc = description if len(description) <= room else description[: room - 1].rstrip() + "…"
    return desc + tail


# --- attaching images to threads --------------------------------------------------------------


@dataclass(frozen=True)
class ImagePlan:
    """What :func:`attach` decided for one article (shared by every platform)."""

    chosen: tuple[Chosen, ...]
    warnings: tuple[str, ...] = ()


def choose(article: "Article", translated: "TranslatedArticle | None", drafts: Mapping[str, "ThreadDraft"],
           mode: str, fetcher: Fetcher, translate: Callable[[str], str] | None = None) -> ImagePlan:
    """Pick and fetch the images: the lead image for post 1 and, in ``points`` mode, the image
    next to each point's paragraph for that point's post (the same for every platform: the
    posts of a point have the same index on each, or not — indexes are resolved per platform
    by :func:`attach`)."""
    if mode == "none":
        return ImagePlan(())
    if mode not in MODES:
        raise MediaError(f"threads.images must be one of {', '.join(MODES)}, not {mode!r}")
    warnings: list[str] = []
    chosen: list[Chosen] = []
    base = article.path.parent if article.path else None
    cands = candidates(article)
    bad: dict[str, str] = {}
    unreachable: dict[str, str] = {}

    def usable(cand: Candidate) -> Fetched | None:
        key = cand.image.url
        if key in bad:
            return None
        try:
            fetched = fetcher.fetch(cand.image.url, base)
            data = fetcher.store.get(fetched.sha256)
            problem = shape_problem(data, fetched.info)
            if problem:
                raise MediaError(f"{cand.image.url}: not used, it looks like {problem}")
        except FetchFailed as exc:
            bad[key] = str(exc)
            host = urlsplit(key).hostname or key
            unreachable.setdefault(host, str(exc).split(": ", 1)[-1])
            return None
        except MediaError as exc:
            bad[key] = str(exc)
            warnings.append(f"image not used: {exc}")
            return None
        return fetched

    def make(post: int, cand: Candidate, fetched: Fetched) -> Chosen:
        credit = credit_text(cand.image, translate)
        return Chosen(post=post, fetched=fetched, description=alt_text(article, translated, cand, translate),
                      credit=credit, label=credit_line(credit_label(credit)) if credit else None, candidate=cand)

    lead = None
    for cand in cands[:MAX_LEAD_TRIES]:
        fetched = usable(cand)
        if fetched is not None:
            lead = make(0, cand, fetched)
            chosen.append(lead)
            break
    if lead is None and cands:
        why = "; ".join(f"{host}: {reason}" for host, reason in unreachable.items())
        warnings.append(f"images not fetched ({why}): the thread is text-only" if why and not chosen
                        else "no usable lead image: the thread is text-only")
    if mode == "points" and drafts:
        draft = next(iter(drafts.values()))
        used = {lead.candidate.image.url} if lead else set()
        by_block = {c.block: c for c in cands}
        for index, rp in enumerate(draft.posts):
            if rp.point is None or rp.part != 1 or index == 0:
                continue
            near = _near(rp.point.block, by_block, article)
            if near is None or near.image.url in used:
                continue
            fetched = usable(near)
            if fetched is not None:
                used.add(near.image.url)
                chosen.append(make(index, near, fetched))
    return ImagePlan(tuple(chosen), tuple(dict.fromkeys(warnings)))


def _near(block: int, by_block: Mapping[int, Candidate], article: "Article") -> Candidate | None:
    """The image next to paragraph ``block``: right after it (credit lines skipped), else right before."""
    blocks = article.blocks
    for step in (1, -1):
        j = block + step
        while 0 <= j < len(blocks) and blocks[j].kind == "credit":
            j += step
        if j in by_block:
            return by_block[j]
    return by_block.get(block)


def attach(drafts: Mapping[str, "ThreadDraft"], plan: ImagePlan, store: MediaStore,
           card_for: Callable[[str, "Thread"], "LinkCard | None"] | None = None) -> dict[str, "ThreadDraft"]:
    """The drafts with the chosen images fitted to each platform and attached, each image's
    credit line added to the post that carries it. An image whose credit does not fit its post
    moves to the next post with room; when none has room it is left out, with a warning (an
    image is never posted without its credit)."""
    from publisher import lengths
    from publisher.models import PostImage

    out = {}
    for platform, draft in drafts.items():
        posts = [rp.post for rp in draft.posts]
        media: list[PostImage] = []
        warnings = list(draft.thread.warnings) + list(plan.warnings)
        taken: dict[int, list[bool]] = {}  # post -> animated flags of the images placed on it
        limits = LIMITS[platform]
        for chosen in plan.chosen:
            data = store.get(chosen.fetched.sha256)
            try:
                fitted = fit(data, platform, chosen.fetched.source)
            except MediaError as exc:
                warnings.append(f"image not used on {platform}: {exc}")
                continue
            placed = None
            order = [chosen.post] + [i for i in range(len(posts)) if i > chosen.post and posts[i].role != "attribution"]
            for index in order:
                here = taken.get(index, [])
                if index >= len(posts) or len(here) >= limits.per_post or (here and (fitted.animated or any(here))):
                    continue  # at most 4 per post, and an animated GIF goes alone (X, Mastodon)
                text = posts[index].text
                if chosen.label and chosen.label not in text:
                    text = text.rstrip() + "\n\n" + chosen.label
                if lengths.measure(platform, text) <= posts[index].limit:
                    placed = index
                    posts[index] = replace(posts[index], text=text, length=lengths.measure(platform, text))
                    break
            if placed is None:
                warnings.append(f"image {chosen.fetched.source} not used on {platform}: no post has room for its "
                                f"credit line ({chosen.label})")
                continue
            if placed != chosen.post:
                warnings.append(f"image {chosen.fetched.source} moved to post {placed + 1} on {platform}: post "
                                f"{chosen.post + 1} had no room for its credit line")
            taken.setdefault(placed, []).append(fitted.animated)
            sha = store.put(fitted.data)
            media.append(PostImage(post=placed, sha256=sha, mime=fitted.mime, width=fitted.width,
                                   height=fitted.height, size=fitted.size, original_sha256=chosen.fetched.sha256,
                                   original_size=chosen.fetched.size,
                                   alt=full_alt(chosen.description, chosen.credit, platform),
                                   credit=chosen.credit, source=chosen.fetched.source, animated=fitted.animated))
        media.sort(key=lambda m: m.post)
        thread = replace(draft.thread, posts=tuple(posts), media=tuple(media),
                         warnings=tuple(dict.fromkeys(warnings)))
        if card_for is not None:
            thread = replace(thread, card=card_for(platform, thread))
        rendered = tuple(replace(rp, post=post) for rp, post in zip(draft.posts, posts))
        out[platform] = replace(draft, thread=thread, posts=rendered)
    return out


def link_card(article: "Article", translated: "TranslatedArticle | None", thread: "Thread",
              store: MediaStore) -> "LinkCard | None":
    """Bluesky's card for the original link, on the attribution post: the English title, the
    description (or the gist), and the lead image as thumb (fitted to Bluesky)."""
    from publisher.models import LinkCard, PostImage

    if thread.platform != "bluesky" or not article.url:
        return None
    index = next((i for i, p in enumerate(thread.posts) if p.role == "attribution"), None)
    if index is None or any(m.post == index for m in thread.media):
        return None  # a Bluesky post has one embed: images win
    title = (translated.title if translated is not None else None) or article.title
    description = (translated.description if translated is not None else None) or article.description or ""
    if not description and thread.posts:
        description = thread.posts[0].text.split("\n", 1)[-1].strip()
    thumb = None
    lead = next((m for m in thread.media if m.post == 0), None) or (thread.media[0] if thread.media else None)
    if lead is not None:
        thumb = PostImage(post=index, sha256=lead.sha256, mime=lead.mime, width=lead.width, height=lead.height,
                          size=lead.size, original_sha256=lead.original_sha256, original_size=lead.original_size,
                          alt="", credit=lead.credit, source=lead.source)
    return LinkCard(post=index, uri=article.url, title=title[:300], description=description[:1000], thumb=thumb)


def add_images(article: "Article", translated: "TranslatedArticle | None", drafts: Mapping[str, "ThreadDraft"],
               mode: str, fetcher: Fetcher | None, translator: "Translator | None" = None,
               glossary: Any = None,
               rebuild: Callable[[str], Mapping[str, "ThreadDraft"]] | None = None) -> dict[str, "ThreadDraft"]:
    """Choose, fetch, fit and attach images and link cards (the one call ingest and preview make).
    ``fetcher`` None or ``mode`` "none": text-only threads (with a link card on Bluesky).
    ``rebuild(line)`` builds the drafts again with room in the hook for ``line`` (the lead
    image's credit line), so that the lead image stays on the first post."""
    store = fetcher.store if fetcher is not None else MediaStore()
    translate = _translate_fn(article, translator, glossary)
    if fetcher is None or mode == "none":
        asked_none = fetcher is None and mode != "none" and bool(candidates(article))
        plan = ImagePlan((), ("images left out (--no-images): the thread is text-only",) if asked_none else ())
    else:
        plan = choose(article, translated, drafts, mode, fetcher, translate)
    lead = next((c for c in plan.chosen if c.post == 0), None)
    if rebuild is not None and lead is not None and lead.label:
        drafts = rebuild(lead.label)
    return attach(drafts, plan, store, lambda platform, thread: link_card(article, translated, thread, store))


def _translate_fn(article: "Article", translator: "Translator | None", glossary: Any) -> Callable[[str], str] | None:
    """Translate a snippet (an alt text, a credit) through the same pipeline as the article:
    glossary, protected names and links, cache rules."""
    if translator is None:
        return None
    from publisher.articles.blocks import parse_blocks
    from publisher.translate.article import translate_article

    def translate(text: str) -> str:
        snippet = replace(article, body=text, blocks=parse_blocks(text), title=text, description=None)
        try:
            done = translate_article(snippet, translator, glossary=glossary)
        except PublisherError:
            return text
        return " ".join(b.text for b in done.blocks).strip() or text

    return translate


# --- the queue: thread media and the upload ledger (tables of migration m005_media) -----------


def store_thread_media(db: "sqlite3.Connection", thread_id: int, thread: "Thread") -> None:
    """Write a thread's images and card next to its posts (inside the caller's transaction)."""
    rows = [(thread_id, "image", m.post, pos, m) for pos, m in enumerate(thread.media)]
    if thread.card is not None and thread.card.thumb is not None:
        rows.append((thread_id, "thumb", thread.card.post, 0, thread.card.thumb))
    db.executemany(
        "INSERT INTO thread_media (thread_id, kind, idx, position, sha256, mime, width, height, size, "
        "original_sha256, original_size, alt, credit, source, animated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(t, kind, idx, pos, m.sha256, m.mime, m.width, m.height, m.size, m.original_sha256, m.original_size, m.alt,
          m.credit, m.source, int(m.animated)) for t, kind, idx, pos, m in rows])
    if thread.card is not None:
        c = thread.card
        db.execute("INSERT INTO thread_cards (thread_id, idx, uri, title, description) VALUES (?, ?, ?, ?, ?)",
                   (thread_id, c.post, c.uri, c.title, c.description))


def load_thread_media(db: "sqlite3.Connection", thread_id: int) -> tuple[tuple["PostImage", ...], "LinkCard | None"]:
    from publisher.models import LinkCard, PostImage

    images, thumb = [], None
    for kind, idx, sha, mime, w, h, size, osha, osize, alt, credit, source, animated in db.execute(
            "SELECT kind, idx, sha256, mime, width, height, size, original_sha256, original_size, alt, credit, "
            "source, animated FROM thread_media WHERE thread_id = ? ORDER BY idx, kind, position", (thread_id,)):
        item = PostImage(post=idx, sha256=sha, mime=mime, width=w, height=h, size=size, original_sha256=osha,
                         original_size=osize, alt=alt, credit=credit, source=source, animated=bool(animated))
        if kind == "thumb":
            thumb = item
        else:
            images.append(item)
    card = None
    row = db.execute("SELECT idx, uri, title, description FROM thread_cards WHERE thread_id = ?",
                     (thread_id,)).fetchone()
    if row is not None:
        card = LinkCard(post=row[0], uri=row[1], title=row[2], description=row[3], thumb=thumb)
    return tuple(images), card


def carried_media(media: Sequence["PostImage"], card: "LinkCard | None", old_texts: Sequence[str],
                  new_texts: Sequence[str], new_roles: Sequence[str]) -> tuple[tuple["PostImage", ...], "LinkCard | None", list[str]]:
    """The images of a thread whose posts were edited: each stays with its post (by index);
    an image whose post is gone is dropped. Problems: an image whose credit line was edited out."""
    kept, problems = [], []
    for m in media:
        if m.post >= len(new_texts):
            continue
        label = credit_line(credit_label(m.credit)) if m.credit else None
        if label and label not in new_texts[m.post]:
            problems.append(f"post {m.post + 1} carries an image credited to {m.credit}: keep its line "
                            f"\"{label}\", or drop the image (publisher edit ID --drop-image {m.post + 1})")
        kept.append(m)
    if card is not None:
        index = next((i for i, r in enumerate(new_roles) if r == "attribution"), None)
        card = replace(card, post=index) if index is not None else None
    return tuple(kept), card, problems


@dataclass(frozen=True)
class Upload:
    """A media item uploaded to a platform, as stored before the post that uses it is sent."""

    media_id: str
    extra: Mapping[str, Any]
    expires_in: float | None = None
    """Seconds the platform keeps the upload unused (None: it did not say; kept for good)."""
    expires_at: dt.datetime | None = None
    """When the stored upload expires (from the publisher's clock at upload time)."""


def stored_upload(db: "sqlite3.Connection", publication_id: int, index: int, kind: str, position: int,
                  sha256: str, alt: str, now: dt.datetime) -> Upload | None:
    """An upload made earlier for this item that the platform still holds (not expired)."""
    from publisher.queue.outbox import from_ts

    row = db.execute("SELECT media_id, extra, expires_at FROM media_uploads WHERE publication_id = ? AND idx = ? "
                     "AND kind = ? AND position = ? AND sha256 = ? AND alt_hash = ? ORDER BY uploaded_at DESC LIMIT 1",
                     (publication_id, index, kind, position, sha256, _alt_hash(alt))).fetchone()
    if row is None:
        return None
    expires = from_ts(row[2])
    if expires is not None and expires <= now + dt.timedelta(minutes=5):
        return None
    return Upload(media_id=row[0], extra=json.loads(row[1]), expires_at=expires)


def record_upload(db: "sqlite3.Connection", publication_id: int, platform: str, account: str, index: int,
                  kind: str, position: int, sha256: str, alt: str, upload: Upload, now: dt.datetime) -> None:
    from publisher.queue.outbox import ts

    expires = now + dt.timedelta(seconds=upload.expires_in) if upload.expires_in is not None else upload.expires_at
    db.execute("INSERT INTO media_uploads (publication_id, platform, account, idx, kind, position, sha256, alt_hash, "
               "media_id, extra, uploaded_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (publication_id, platform, account, index, kind, position, sha256, _alt_hash(alt), upload.media_id,
                json.dumps(dict(upload.extra), default=str), ts(now), ts(expires) if expires else None))


def forget_uploads(outbox: Any, publication_id: int, index: int, now: dt.datetime) -> None:
    """Stop reusing the uploads of post ``index`` (the platform refused the post that carried
    them, perhaps because it had dropped them): the next attempt uploads again."""
    from publisher.queue.outbox import ts

    with outbox.transaction() as db:
        db.execute("UPDATE media_uploads SET expires_at = ? WHERE publication_id = ? AND idx = ?",
                   (ts(now), publication_id, index))


def _alt_hash(alt: str) -> str:
    return hashlib.sha256(alt.encode()).hexdigest()[:32]


def uploads_of(db: "sqlite3.Connection", publication_id: int) -> list[dict[str, Any]]:
    return [{"post": idx + 1, "kind": kind, "position": pos, "sha256": sha, "media_id": media_id,
             "uploaded_at": at, "expires_at": exp}
            for idx, kind, pos, sha, media_id, at, exp in db.execute(
                "SELECT idx, kind, position, sha256, media_id, uploaded_at, expires_at FROM media_uploads "
                "WHERE publication_id = ? ORDER BY idx, kind, position, uploaded_at", (publication_id,))]


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def describe(media: Iterable["PostImage"], card: "LinkCard | None" = None, *, n_posts: int | None = None) -> list[str]:
    """One line per image (and the card) for people: post, bytes before → after, alt, credit."""
    lines = []
    for m in media:
        kind = "GIF, animated" if m.animated else m.mime.split("/")[-1].upper()
        lines.append(f"post {m.post + 1}: image {m.width}x{m.height} {kind}, {human_bytes(m.original_size)} → "
                     f"{human_bytes(m.size)} ({m.sha256[:12]}) from {m.source}")
        lines.append(f"    alt: {m.alt}")
        lines.append(f"    credit: {m.credit or '(none given by the article)'}")
    if card is not None:
        thumb = f", thumb {human_bytes(card.thumb.size)} ({card.thumb.sha256[:12]})" if card.thumb else ", no thumb"
        lines.append(f"post {card.post + 1}: link card {card.uri} — {card.title}{thumb}")
    return lines


# --- uploading (called by publisher.publishing.publish, while the publication is claimed) ----------------


def _upload_failure(platform: str, exc: BaseException, what: str) -> BaseException:
    """An upload's failure as the publisher treats it: nothing is visible on the platform after a
    failed upload (an orphan upload expires unseen), so an unknown outcome is only transient."""
    from publisher.platforms.base import OutcomeUnknown, PostFailed, Transient

    if isinstance(exc, OutcomeUnknown):
        return Transient(platform, f"{what}: {str(exc).removeprefix(platform + ': ')} (nothing is posted yet)")
    if isinstance(exc, PostFailed):
        exc.args = (f"{exc.args[0]} ({what})",) if exc.args else exc.args
        return exc
    return exc


def attachments_for(outbox: Any, publication_id: int, thread: Any, index: int, platform: Any,
                    clock: Callable[[], dt.datetime], store: MediaStore | None = None) -> dict[str, Any]:
    """Upload (or reuse) the images and card thumb of post ``index`` and return the keyword
    arguments for ``platform.post`` (``media=``, ``card=``); {} for a post without any.

    Each upload's media id is committed to ``media_uploads`` before returning, so it is stored
    before the post that uses it is sent; an id stored by an earlier, interrupted attempt is
    reused unless the platform has expired it by now (then the image is uploaded again).
    Classified failures (:class:`publisher.platforms.base.PostFailed`) propagate; a missing or
    damaged stored image is :class:`Rejected` (a person drops or replaces it).
    """
    from publisher.platforms.base import Attachment, Card, MediaItem, Rejected

    images = [m for m in thread.media if m.post == index]
    card = thread.card if thread.card is not None and thread.card.post == index else None
    if not images and card is None:
        return {}
    if not hasattr(platform, "upload_media"):
        raise Rejected(platform.name, f"post {index + 1} has images, and this platform adapter cannot upload them")
    store = store or MediaStore()
    pub = outbox.get(publication_id)

    def one(kind: str, position: int, item: Any) -> Attachment:
        now = clock()
        found = stored_upload(outbox.db, publication_id, index, kind, position, item.sha256, item.alt, now)
        if found is None:
            try:
                data = store.get(item.sha256)
            except MediaError as exc:
                raise Rejected(platform.name, f"post {index + 1}: {exc}") from None
            what = f"uploading image {position + 1} of post {index + 1}" if kind == "image" else \
                f"uploading the link card's image for post {index + 1}"
            try:
                found = platform.upload_media(MediaItem(data=data, mime=item.mime, alt=item.alt, width=item.width,
                                                        height=item.height, sha256=item.sha256,
                                                        animated=item.animated))
            except Exception as exc:
                failure = _upload_failure(platform.name, exc, what)
                if failure is exc:
                    raise
                raise failure from exc
            with outbox.transaction() as db:
                outbox._own(publication_id)
                record_upload(db, publication_id, pub.platform, pub.account, index, kind, position, item.sha256,
                              item.alt, found, clock())
        return Attachment(media_id=found.media_id, mime=item.mime, alt=item.alt, width=item.width,
                          height=item.height, extra=found.extra)

    kwargs: dict[str, Any] = {}
    if images:
        kwargs["media"] = tuple(one("image", pos, m) for pos, m in enumerate(images))
    if card is not None:
        thumb = one("thumb", 0, card.thumb) if card.thumb is not None else None
        kwargs["card"] = Card(uri=card.uri, title=card.title, description=card.description, thumb=thumb)
    return kwargs


# --- editing a queued thread's images (publisher edit ID --drop-image / --image / --alt) ------


def edit_images(outbox: Any, publication_id: int, *, drop: Sequence[int] = (), add: Mapping[int, str] | None = None,
                alt: Mapping[int, str] | None = None, credit: str | None = None, fetcher: Fetcher | None = None,
                now: dt.datetime | None = None) -> Any:
    """Drop, replace or re-describe the images of a queued thread (post numbers are 1-based).

    ``add``: post -> image source (a URL or a file), replacing that post's images; ``credit``
    is its credit (shown in the post as "Image: …" and in the alt text). ``alt``: post -> new
    alt text for the images of that post (the credit is kept). Stores a new thread like
    :meth:`Outbox.edit`, as a draft: the approval is withdrawn. Posts already posted cannot
    change; a post whose text would go over the limit refuses the whole edit.
    """
    from publisher import lengths
    from publisher.errors import StoreError
    from publisher.models import Post, PostImage, Thread
    from publisher.queue.outbox import _aware, utcnow

    add, alt = dict(add or {}), dict(alt or {})
    now = _aware(now or utcnow(), "now")
    with outbox.transaction():
        pub = outbox.get(publication_id)
        if pub.state in ("publishing", "posted", "rejected"):
            raise StoreError(f"publication {publication_id} is {pub.state}; its images cannot be edited")
        if pub.unknown_index is not None:
            raise StoreError(f"publication {publication_id}: settle the outcome of post {pub.unknown_index + 1} "
                             "first (`publisher resolve`)")
        current = outbox._thread(pub.thread_id, publication_id)
        n = len(current.posts)
        for number in [*drop, *add, *alt]:
            if not 1 <= number <= n:
                raise StoreError(f"publication {publication_id} has posts 1 to {n}, not {number}")
            if number <= pub.posted_count:
                raise StoreError(f"publication {publication_id}: post {number} is already on {pub.platform}")
        texts = [p.text for p in current.posts]
        images = list(current.media)
        card = current.card

        def remove(index: int) -> None:
            for m in [m for m in images if m.post == index]:
                images.remove(m)
                if m.credit:
                    label = credit_line(credit_label(m.credit))
                    texts[index] = re.sub(r"\n*" + re.escape(label) + r"[ \t]*", "", texts[index]).rstrip()

        for number in drop:
            if not any(m.post == number - 1 for m in images) and not (card and card.post == number - 1):
                raise StoreError(f"publication {publication_id}: post {number} has no image")
            remove(number - 1)
            if card is not None and card.post == number - 1 and not add.get(number):
                card = None
        for number, source in add.items():
            index = number - 1
            fetcher = fetcher or Fetcher()
            got = fetcher.fetch(source, operator=True)
            fitted = fit(fetcher.store.get(got.sha256), pub.platform, source)
            remove(index)
            if credit:
                texts[index] = texts[index].rstrip() + "\n\n" + credit_line(credit_label(credit))
            description = alt.pop(number, None) or "An image."
            images.append(PostImage(post=index, sha256=fetcher.store.put(fitted.data), mime=fitted.mime,
                                    width=fitted.width, height=fitted.height, size=fitted.size,
                                    original_sha256=got.sha256, original_size=got.size,
                                    alt=full_alt(description, credit, pub.platform), credit=credit, source=source,
                                    animated=fitted.animated))
        for number, description in alt.items():
            targets = [m for m in images if m.post == number - 1]
            if not targets:
                raise StoreError(f"publication {publication_id}: post {number} has no image to describe")
            for m in targets:
                images[images.index(m)] = replace(m, alt=full_alt(description.strip(), m.credit, pub.platform))
        images.sort(key=lambda m: m.post)
        posts = tuple(Post(text=t, role=p.role, length=lengths.measure(pub.platform, t), limit=p.limit)  # type: ignore[arg-type]
                      for t, p in zip(texts, current.posts))
        over = [f"post {i + 1} would have {p.length} characters, over the limit of {p.limit} with its credit line"
                for i, p in enumerate(posts) if p.length > p.limit]
        if over:
            raise StoreError(f"publication {publication_id} not saved: {'; '.join(over)}")
        article_hash = outbox.db.execute("SELECT source_hash FROM articles WHERE id = ?",
                                         (pub.article_id,)).fetchone()[0]
        thread = Thread(platform=pub.platform, posts=posts, article_hash=article_hash, title=current.title,
                        dropped=current.dropped, warnings=current.warnings, media=tuple(images), card=card)
        if thread.content_hash == current.content_hash:
            return pub
        thread_id = outbox._insert_thread(pub.article_id, thread, "edit", now)
        why = "images edited" + ("; approval withdrawn" if pub.approved_hash else "")
        outbox._transition(publication_id, "draft", now, why, thread_id=thread_id, n_posts=len(posts),
                           approved_hash=None, approved_at=None, attempts=0)
        return outbox.get(publication_id)
