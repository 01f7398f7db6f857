"""What goes into a Bluesky post record: its record key, its text with link facets, its embed.

**The record key.** Bluesky has no idempotency key, so :func:`record_key` turns a post's
``idempotency_key`` into a TID (the key type ``app.bsky.feed.post`` requires); the adapter,
:mod:`publisher.platforms.bluesky`, writes the post under that key, so a retry can never create a
second record.

**Text.** Only ``http(s)://`` links get facets (UTF-8 byte offsets, built with the SDK's
``TextBuilder``); ``@mentions``, ``#tags`` and ``$cashtags`` in article text stay plain text.

**Embed.** The uploaded images (``app.bsky.embed.images``), else the link card
(``app.bsky.embed.external``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import quote, urlsplit

import regex

from publisher.platforms import registry
from publisher.platforms.base import Attachment, Card, Rejected


# ---------------------------------------------------------------------------------------------
# Record keys


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_RKEY_EPOCH_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z in microseconds
_RKEY_SPAN_US = 1 << 44  # about 203 days: every derived key reads as a 2024 TID


def record_key(idempotency_key: str) -> str:
    """The TID record key of the post with this idempotency key (same key, same record).

    A TID is 64 bits: a zero bit, 53 bits of microseconds and a 10-bit clock id, written in
    base32-sortable. Here both parts come from a SHA-256 of the key; the time part is kept
    inside 2024 so the key never claims a future time (54 bits vary: collisions within one
    account are out of reach).
    """
    if not idempotency_key:
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"publisher/bluesky/{idempotency_key}".encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    micros = _RKEY_EPOCH_US + ((n >> 10) % _RKEY_SPAN_US)
    value = (micros << 10) | (n & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


# ---------------------------------------------------------------------------------------------
# Links and facets


@dataclass(frozen=True)
class LinkSpan:
    """An http(s) link in a post: code-point offsets into the text, and the link target."""

    start: int
    end: int
    url: str


# A link starts with http:// or https:// not glued to a preceding ASCII word (Chinese text may
# touch it) and runs to whitespace, quotes, angle brackets or CJK punctuation.
_URL = regex.compile(
    r"(?<![A-Za-z0-9/@.+_-])https?://[^\s<>\"'`，。、；：！？「」『』（）【】《》〈〉“”‘’…　]+",
    regex.IGNORECASE,
)
_TRAILING = ".,;:!?*'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}


def find_links(text: str) -> list[LinkSpan]:
    """The http(s) links in ``text``, trailing punctuation and unbalanced brackets left out."""
    spans = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url:
            last = url[-1]
            if last in _TRAILING:
                url = url[:-1]
            elif last in _PAIRS and url.count(_PAIRS[last]) < url.count(last):
                url = url[:-1]
            else:
                break
        if not urlsplit(url).hostname:
            continue
        spans.append(LinkSpan(match.start(), match.start() + len(url), url))
    return spans


def _link_target(url: str) -> str:
    """The URL as ASCII for the facet (IDN host in punycode, other non-ASCII percent-encoded)."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii() and parts.hostname:
        try:
            netloc = netloc.replace(parts.hostname, parts.hostname.encode("idna").decode("ascii"))
        except UnicodeError:
            pass
    rest = url[len(parts.scheme) + 3 + len(parts.netloc):]
    return f"{parts.scheme}://{netloc}{quote(rest, safe=':/?#[]@!$&()*+,;=%~-._' + chr(39))}"


def rich_text(text: str):
    """The SDK's TextBuilder for ``text``: plain text, with a link facet on each http(s) link."""
    from atproto import client_utils

    builder = client_utils.TextBuilder()
    pos = 0
    for span in find_links(text):
        if span.start > pos:
            builder.text(text[pos:span.start])
        builder.link(text[span.start:span.end], _link_target(span.url))
        pos = span.end
    if pos < len(text):
        builder.text(text[pos:])
    return builder


# ---------------------------------------------------------------------------------------------
# The embed


def embed(media: Sequence[Attachment], card: Card | None):
    """``app.bsky.embed.images`` (alt, aspectRatio) for images, else ``app.bsky.embed.external``."""
    from atproto import models
    from atproto_client.models.blob_ref import BlobRef, IpldLink

    def blob(a: Attachment) -> BlobRef:
        return BlobRef(mime_type=a.extra.get("mime_type") or a.mime, size=int(a.extra.get("size") or 0),
                       ref=IpldLink(link=a.media_id))

    if media:
        if len(media) > 4:
            raise Rejected(registry.BLUESKY.name, f"{len(media)} images on one post; Bluesky takes at most 4")
        return models.AppBskyEmbedImages.Main(images=[
            models.AppBskyEmbedImages.Image(alt=a.alt, image=blob(a), aspect_ratio=models.AppBskyEmbedDefs.AspectRatio(
                width=max(a.width, 1), height=max(a.height, 1))) for a in media])
    if card is not None:
        return models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
            uri=card.uri, title=card.title, description=card.description,
            thumb=blob(card.thumb) if card.thumb is not None else None))
    return None
