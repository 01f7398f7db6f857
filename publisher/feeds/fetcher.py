"""Fetching feeds and pages into a folder as article files, remembering what was seen in a
:class:`~publisher.feeds.store.FeedStore`; one :class:`Outcome` per URL (``publisher fetch`` and the daemon)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from publisher.feeds.extract import _clean, extract_article
from publisher.feeds.files import article_metadata, content_hash, file_name, render_file, write_atomic
from publisher.feeds.links import normalise_link
from publisher.feeds.parse import Feed, FeedEntry, _entry_sort_key, _sha, looks_like_feed, parse_feed
from publisher.feeds.store import FeedStore
from publisher.feeds.web import (
    FEED_ACCEPT,
    PAGE_ACCEPT,
    UTC,
    FetchError,
    Response,
    _human,
    check_url,
    decode_html,
    http_get,
    make_client,
)

if TYPE_CHECKING:
    import httpx

PAGE_SCOPE = "page"
"""The scope of entries fetched as pages (``pages:`` lists and ``publisher fetch PAGE``)."""

FEED_TEXT_CHARS = 120
"""A feed entry whose content has at least this many characters (a summary: 3 × as many, since
summaries are often the first lines cut short) stands in for a page that cannot be read."""


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
