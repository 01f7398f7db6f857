"""A link as identity: lower-case host, no fragment, no tracking parameters; WeChat's links
without their session parameters."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_[a-z]+|spm|from|scene|share_token|fbclid|gclid|mc_[a-z]+)$", re.IGNORECASE)


def is_wechat(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == "mp.weixin.qq.com"


def wechat_permalink(url: str) -> str:
    """A WeChat article link without its session parameters: ``__biz``, ``mid``, ``idx``, ``sn``
    are the article; ``chksm``, ``scene``, ``#rd``... are who shared it and when."""
    parts = urlsplit(url.replace("&amp;", "&"))
    if parts.path.rstrip("/") != "/s" or "__biz" not in parts.query:
        return urlunsplit(("https", parts.netloc, parts.path, parts.query, ""))
    keep = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in ("__biz", "mid", "idx", "sn")]
    return urlunsplit(("https", parts.netloc, parts.path, urlencode(keep, safe="=="), ""))


def normalise_link(url: str) -> str:
    """A link as identity: lower-case host, no fragment, no tracking parameters."""
    if is_wechat(url):
        return wechat_permalink(url)
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), (parts.netloc or "").lower(), parts.path or "/", query, ""))
