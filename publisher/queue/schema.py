"""Named, append-only migrations of the queue database.

Each migration is a function registered with :func:`migration`; its name is recorded in the
``migrations`` table when it has run, inside the same transaction as its changes. Migrations
are never edited or removed once released: a change to the schema is a new function at the
end of the list. A database that records a migration this code does not know was written by a
newer publisher and is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from publisher.queue.states import STATES  # the CHECK constraint of m001 lists them

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _run(db: sqlite3.Connection, statements: list[str]) -> None:
    for statement in statements:
        db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    states = ", ".join(f"'{s}'" for s in STATES)
    _run(db, [
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            source_hash TEXT NOT NULL UNIQUE,
            revision INTEGER NOT NULL,
            title TEXT NOT NULL,
            author TEXT,
            date TEXT,
            url TEXT,
            publication TEXT,
            language TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (path, revision)
        )""",
        """CREATE TABLE translations (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            title TEXT NOT NULL,
            description TEXT,
            markdown TEXT NOT NULL,
            model TEXT NOT NULL,
            model_version TEXT NOT NULL,
            translated INTEGER NOT NULL,
            glossary_hits TEXT NOT NULL DEFAULT '[]',
            warnings TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX translations_article ON translations(article_id)",
        # A thread is immutable: an edit stores a new thread and points the publication at it.
        """CREATE TABLE threads (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            platform TEXT NOT NULL,
            title TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            n_posts INTEGER NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('render', 'edit')),
            dropped TEXT NOT NULL DEFAULT '[]',
            warnings TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX threads_article ON threads(article_id)",
        """CREATE TABLE thread_posts (
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            idx INTEGER NOT NULL,
            text TEXT NOT NULL,
            role TEXT NOT NULL,
            length INTEGER NOT NULL,
            lim INTEGER NOT NULL,
            PRIMARY KEY (thread_id, idx)
        ) WITHOUT ROWID""",
        f"""CREATE TABLE publications (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            state TEXT NOT NULL CHECK (state IN ({states})),
            approved_hash TEXT,
            approved_at TEXT,
            scheduled_at TEXT,
            next_try_at TEXT,
            due_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            n_posts INTEGER NOT NULL,
            posted_count INTEGER NOT NULL DEFAULT 0,
            claimed_from TEXT,
            owner TEXT,
            claimed_at TEXT,
            inflight_index INTEGER,
            inflight_since TEXT,
            unknown_index INTEGER,
            note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (article_id, platform)
        )""",
        "CREATE INDEX publications_due ON publications(platform, state, due_at)",
        "CREATE INDEX publications_state ON publications(state)",
        # What each platform returned, written in the same transaction as the state change.
        """CREATE TABLE post_results (
            publication_id INTEGER NOT NULL REFERENCES publications(id),
            idx INTEGER NOT NULL,
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            post_id TEXT,
            url TEXT,
            extra TEXT NOT NULL DEFAULT '{}',
            posted_at TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('platform', 'person')),
            PRIMARY KEY (publication_id, idx)
        )""",
        "CREATE INDEX post_results_account ON post_results(platform, account, posted_at)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            publication_id INTEGER NOT NULL REFERENCES publications(id),
            at TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            post_index INTEGER,
            reason TEXT NOT NULL
        )""",
        "CREATE INDEX events_publication ON events(publication_id, id)",
        """CREATE TABLE accounts (
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            handle TEXT,
            checked_at TEXT,
            blocked_reason TEXT,
            blocked_at TEXT,
            paused_until TEXT,
            pause_reason TEXT,
            daily_remaining INTEGER,
            daily_reset TEXT,
            PRIMARY KEY (platform, account)
        )""",
        # What was posted, and the history, are permanent.
        """CREATE TRIGGER post_results_keep BEFORE DELETE ON post_results
           BEGIN SELECT RAISE(ABORT, 'posted records are permanent'); END""",
        """CREATE TRIGGER post_results_fixed BEFORE UPDATE ON post_results
           BEGIN SELECT RAISE(ABORT, 'posted records are permanent'); END""",
        """CREATE TRIGGER events_keep BEFORE DELETE ON events
           BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END""",
        """CREATE TRIGGER events_fixed BEFORE UPDATE ON events
           BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END""",
    ])


@migration
def m002_schedule_slots(db: sqlite3.Connection) -> None:
    """Which posting slots the daemon has handled, so that a slot is never used twice."""
    # IF NOT EXISTS: daemons before this migration created the table themselves.
    _run(db, [
        """CREATE TABLE IF NOT EXISTS schedule_slots (
            platform TEXT NOT NULL,
            slot_at TEXT NOT NULL,
            handled_at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            publication_id TEXT,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (platform, slot_at)
        )""",
    ])


@migration
def m003_reported_files(db: sqlite3.Connection) -> None:
    """Bad article files the daemon already reported, per content, so that each bad version of
    a file is reported once across runs (cron's `publisher run --once` included)."""
    _run(db, [
        """CREATE TABLE reported_files (
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            message TEXT NOT NULL,
            reported_at TEXT NOT NULL,
            PRIMARY KEY (path, content_hash)
        )""",
    ])


@migration
def m005_media(db: sqlite3.Connection) -> None:
    """Images of threads (content-addressed files under $PUBLISHER_HOME/media/), Bluesky link
    cards, and the upload ledger: a platform's media id is stored before the post using it is sent."""
    _run(db, [
        """CREATE TABLE thread_media (
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            kind TEXT NOT NULL CHECK (kind IN ('image', 'thumb')),
            idx INTEGER NOT NULL,
            position INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            mime TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            size INTEGER NOT NULL,
            original_sha256 TEXT NOT NULL,
            original_size INTEGER NOT NULL,
            alt TEXT NOT NULL,
            credit TEXT,
            source TEXT NOT NULL,
            animated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (thread_id, kind, idx, position)
        )""",
        """CREATE TABLE thread_cards (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id),
            idx INTEGER NOT NULL,
            uri TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL
        )""",
        """CREATE TABLE media_uploads (
            id INTEGER PRIMARY KEY,
            publication_id INTEGER NOT NULL REFERENCES publications(id),
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            idx INTEGER NOT NULL,
            kind TEXT NOT NULL,
            position INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            alt_hash TEXT NOT NULL,
            media_id TEXT NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}',
            uploaded_at TEXT NOT NULL,
            expires_at TEXT
        )""",
        "CREATE INDEX media_uploads_item ON media_uploads(publication_id, idx, kind, position)",
    ])


@migration
def m006_cockpit(db: sqlite3.Connection) -> None:
    """What `publisher status` and the alerts read: the daemon's heartbeat (one row per database,
    written at every tick) and the alerts already sent (each event is sent once, across runs)."""
    _run(db, [
        """CREATE TABLE heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            mode TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            version TEXT NOT NULL,
            schedule TEXT NOT NULL,
            started_at TEXT NOT NULL,
            beat_at TEXT NOT NULL,
            scan_at TEXT,
            interval_s REAL NOT NULL,
            stopped_at TEXT
        )""",
        """CREATE TABLE alerts_sent (
            key TEXT PRIMARY KEY,
            event TEXT NOT NULL,
            message TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            delivered INTEGER NOT NULL
        )""",
    ])


@migration
def m007_feeds(db: sqlite3.Connection) -> None:
    """Feed entries and pages already seen (publisher.feeds), and each feed's or page's polling
    state (conditional GET validators, backoff), so that an entry is written once and an entry
    edited upstream rewrites the same file."""
    _run(db, [
        """CREATE TABLE feed_entries (
            scope TEXT NOT NULL,
            entry_key TEXT NOT NULL,
            link TEXT,
            path TEXT,
            state TEXT NOT NULL,
            fingerprint TEXT,
            content_hash TEXT,
            written_hash TEXT,
            first_seen TEXT NOT NULL,
            last_fetched TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (scope, entry_key)
        )""",
        "CREATE INDEX feed_entries_link ON feed_entries(link)",
        """CREATE TABLE feed_state (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            last_polled TEXT,
            next_poll TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            polls INTEGER NOT NULL DEFAULT 0
        )""",
    ])


@migration
def m006_corrections(db: sqlite3.Connection) -> None:
    """A new revision of an article already posted on a platform is a correction: its thread
    goes out as a reply to the posted one (see publisher.publishing.corrections)."""
    _run(db, [
        """CREATE TABLE corrections (
            publication_id INTEGER PRIMARY KEY REFERENCES publications(id),
            original_id INTEGER NOT NULL REFERENCES publications(id),
            created_at TEXT NOT NULL
        )""",
    ])


def apply(db: sqlite3.Connection, now: str) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; returns their names.

    ``db`` must be in autocommit mode (``isolation_level=None``). Safe when two processes open
    a new database at once: the check runs again under the write lock.
    """
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    known = [name for name, _ in MIGRATIONS]
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    unknown = sorted(done - set(known))
    if unknown:
        from publisher.errors import StoreError

        raise StoreError(f"the database was written by a newer publisher (unknown migrations: {', '.join(unknown)})")
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone() is None:
                fn(db)
                db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now))
                applied.append(name)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return applied
