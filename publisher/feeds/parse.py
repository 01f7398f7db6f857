"""RSS 0.9x/1.0/2.0 and Atom feeds and their entries (feedparser, imported when first needed);
an entry is known by its guid, else its link, else a hash of its content."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from publisher.feeds.extract import _clean
from publisher.feeds.links import normalise_link
from publisher.feeds.web import UTC, FetchError, Response, _short


@dataclass(frozen=True)
class FeedEntry:
    key: str
    """guid:..., link:... or hash:... (see :mod:`publisher.feeds`)."""
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
