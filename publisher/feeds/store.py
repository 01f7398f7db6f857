"""What was seen: feed entries and pages already fetched, and each URL's polling state, in the
queue database (tables ``feed_entries`` and ``feed_state``, migration m007_feeds)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from publisher.clock import from_ts_seconds, ts_seconds
from publisher.feeds.links import normalise_link
from publisher.feeds.web import UTC


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
                 content, written, ts_seconds(now), ts_seconds(now), detail))

    # -- polling state --

    def state(self, url: str) -> PollState:
        with self._connect() as conn:
            row = conn.execute("SELECT url, etag, last_modified, last_polled, next_poll, failures, last_error, polls "
                               "FROM feed_state WHERE url = ?", (url,)).fetchone()
        if row is None:
            return PollState(url)
        return PollState(row[0], row[1], row[2], from_ts_seconds(row[3]), from_ts_seconds(row[4]), row[5], row[6], row[7])

    def save_state(self, s: PollState) -> None:
        with self._connect() as conn:
            conn.execute(
                """INSERT INTO feed_state (url, etag, last_modified, last_polled, next_poll, failures,
                       last_error, polls) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
                       last_polled = excluded.last_polled, next_poll = excluded.next_poll,
                       failures = excluded.failures, last_error = excluded.last_error, polls = excluded.polls""",
                (s.url, s.etag, s.last_modified, ts_seconds(s.last_polled), ts_seconds(s.next_poll), s.failures, s.last_error,
                 s.polls))
