"""How long a post is, by each platform's own counting.

* X: twitter-text v3 weighted length (CJK counts 2, every URL 23, emoji sequences 2, NFC
  first), via the twitter-text-parser package, which passes the official conformance cases.
* Mastodon: grapheme clusters, after every http(s) URL is counted as 23 and a remote mention
  ``@user@domain`` as ``@user`` (what Mastodon's StatusLengthValidator does).
* Bluesky: grapheme clusters with URLs counted in full; also at most 3,000 UTF-8 bytes.
"""

from __future__ import annotations

import warnings

import regex

PLATFORMS = ("x", "mastodon", "bluesky")
DEFAULT_LIMITS = {"x": 280, "mastodon": 500, "bluesky": 300}
BLUESKY_MAX_BYTES = 3000
URL_LENGTH = 23

_GRAPHEME = regex.compile(r"\X")
_REMOTE_MENTION = regex.compile(r"(?<![\w@])@(\w+(?:[.-]\w+)*)@[\w.-]+\w", regex.UNICODE)


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def _twitter_text():
    with warnings.catch_warnings():  # its pkg_resources import warns on newer setuptools
        warnings.simplefilter("ignore")
        import twitter_text
    return twitter_text


def x_length(text: str) -> int:
    return _twitter_text().parse_tweet(text).weightedLength


def mastodon_length(text: str) -> int:
    tt = _twitter_text()
    urls = tt.extract_urls_with_indices(text, extract_urls_without_protocol=False)
    out, pos = [], 0
    for url in sorted(urls, key=lambda u: u["indices"][0]):
        start, end = url["indices"]
        out.append(text[pos:start])
        out.append("x" * URL_LENGTH)
        pos = end
    out.append(text[pos:])
    countable = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), "".join(out))
    return graphemes(countable)


def bluesky_length(text: str) -> int:
    return graphemes(text)


_MEASURE = {"x": x_length, "mastodon": mastodon_length, "bluesky": bluesky_length}


def measure(platform: str, text: str) -> int:
    """Length of ``text`` as ``platform`` counts it."""
    try:
        return _MEASURE[platform](text)
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}") from None


def problem(platform: str, text: str, limit: int | None = None) -> str | None:
    """Why ``text`` would be refused by ``platform`` (None when it fits)."""
    limit = DEFAULT_LIMITS[platform] if limit is None else limit
    if not text.strip():
        return "empty post"
    length = measure(platform, text)
    if length > limit:
        return f"{length} characters, over the {platform} limit of {limit}"
    if platform == "bluesky" and len(text.encode("utf-8")) > BLUESKY_MAX_BYTES:
        return f"{len(text.encode('utf-8'))} bytes, over Bluesky's {BLUESKY_MAX_BYTES}-byte limit"
    return None


def fits(platform: str, text: str, limit: int | None = None) -> bool:
    return problem(platform, text, limit) is None
