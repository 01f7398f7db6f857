"""The article file written from a page or a feed entry: its frontmatter (the credits), its
content hash, its name, and the atomic write."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher.feeds.extract import Extracted, _clean
from publisher.feeds.links import is_wechat
from publisher.feeds.parse import Feed, FeedEntry, _sha
from publisher.feeds.web import UTC, _site, same_site


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
