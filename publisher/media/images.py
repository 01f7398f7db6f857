"""What image bytes are (sniffed by Pillow; WeChat's hotlink placeholder; banner, icon and QR
shapes) and fitting them to each platform's limits. Pillow is imported when first needed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from publisher.media.store import MediaError

MAX_PIXELS = 60_000_000
"""Pillow refuses images with more pixels (a decompression bomb guard)."""
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
WECHAT_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
PLACEHOLDER_AHASHES: frozenset[str] = frozenset({
    # 16x16 average hash of WeChat's "此图片来自微信公众平台 未经允许不可引用" placeholder as the
    # tests model it (tests/media_fixtures.py); add the hash of any placeholder met in the wild.
    "fffffffffffffffffffffffff81ff00ff00ff81fffffffffffffffffffffffff",
})
_PLACEHOLDER_DISTANCE = 12


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


# --- shapes that are not content (banners, icons, QR codes) ------------------------------------


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
