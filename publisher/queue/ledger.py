"""The daemon's memory in the queue database: which slots were handled, which bad files were reported.

* :class:`SlotLedger` (table ``schedule_slots``): one row per slot handled, written BEFORE
  anything is claimed, so a slot is used at most once however many times a tick runs.
* :class:`ReportedFiles` (table ``reported_files``): bad article file versions already reported,
  so that a file that stays bad is reported once across runs.
* :func:`latest_recorded`: the latest instant the database recorded (``--now`` never goes back
  before it).

These tables keep their own stored time format (``2024-06-14T09:00:00Z``, :func:`publisher.clock.ts_seconds`), not the
Outbox's: rows already written must still read. They open their connections through
:mod:`publisher.queue.database`, the queue's connection factory (SQLite file or PostgreSQL URL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from publisher.clock import from_ts, from_ts_seconds, ts_seconds

UTC = dt.timezone.utc


def latest_recorded(db: sqlite3.Connection) -> dt.datetime | None:
    """The latest instant a database recorded: a post made (``post_results``) or a slot handled
    (the slot ledger). Time read from the clock must never go back before it."""
    found: list[dt.datetime] = []
    row = db.execute("SELECT max(posted_at) FROM post_results").fetchone()
    if row and row[0]:
        found.append(from_ts(row[0]))  # type: ignore[arg-type]
    row = db.execute("SELECT max(slot_at), max(handled_at) FROM schedule_slots").fetchone()
    found += [from_ts_seconds(v) for v in (row or ()) if v]
    return max(found) if found else None


@dataclass(frozen=True)
class LedgerRow:
    platform: str
    slot_at: dt.datetime
    handled_at: dt.datetime
    outcome: str
    publication_id: str | None
    detail: str


class _Table:
    """A table of the queue database kept by the daemon, opened on its own connection per call
    (the database is created private and migrated, like the Outbox does, on first use)."""

    def __init__(self, db: Path | str):
        from publisher.queue.database import is_postgres, target
        from publisher.queue.schema import apply

        self.db = target(db)
        if not is_postgres(self.db):
            from publisher.queue.db import create_private, private_folder

            private_folder(self.db.parent)
            create_private(self.db)
        with self._connect() as conn:
            apply(conn, dt.datetime.now(dt.timezone.utc).isoformat())
            self._opened(conn)

    def _opened(self, conn: sqlite3.Connection) -> None:
        """What a table reads once it is open."""

    def _connect(self) -> sqlite3.Connection:
        from publisher.queue.database import connect

        return connect(self.db, existing=True)  # SQLite: never a fresh empty file in place of a deleted one


class SlotLedger(_Table):
    """Which slots were handled, in the queue database (table ``schedule_slots``).

    A row is written before a slot's thread is claimed, so a slot can never be used twice;
    a crash between the row and the claim costs one slot, never a duplicate post.
    """

    def last(self, platform: str, now: dt.datetime | None = None) -> dt.datetime | None:
        """The latest slot handled for ``platform``. With ``now``, a slot recorded later than now
        (beyond clockfix.TOLERANCE: the clock was wrong when it was recorded) is not trusted."""
        query, args = "SELECT max(slot_at) FROM schedule_slots WHERE platform = ?", [platform]
        if now is not None:
            from publisher.queue.clockfix import TOLERANCE

            query += " AND slot_at <= ?"
            args.append(ts_seconds(now + TOLERANCE))
        with self._connect() as conn:
            row = conn.execute(query, args).fetchone()
        return from_ts_seconds(row[0]) if row and row[0] else None

    def begin(self, platform: str, slot_at: dt.datetime, now: dt.datetime) -> bool:
        """Take a slot; False when it was already taken."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO schedule_slots (platform, slot_at, handled_at, outcome) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (platform, slot_at) DO NOTHING",
                (platform, ts_seconds(slot_at), ts_seconds(now), "started"))
            return cur.rowcount == 1

    def finish(self, platform: str, slot_at: dt.datetime, outcome: str, *, publication_id: object = None,
               detail: str = "") -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE schedule_slots SET outcome = ?, publication_id = coalesce(?, publication_id), detail = ? "
                "WHERE platform = ? AND slot_at = ?",
                (outcome, None if publication_id is None else str(publication_id), detail, platform, ts_seconds(slot_at)))

    def record(self, platform: str, slot_at: dt.datetime, now: dt.datetime, outcome: str, detail: str = "") -> bool:
        """Take a slot and close it at once (missed, skipped...); False when already taken."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO schedule_slots (platform, slot_at, handled_at, outcome, detail) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, slot_at) DO NOTHING", (platform, ts_seconds(slot_at), ts_seconds(now), outcome, detail))
            return cur.rowcount == 1

    def rows(self, platform: str | None = None) -> list[LedgerRow]:
        query = "SELECT platform, slot_at, handled_at, outcome, publication_id, detail FROM schedule_slots"
        args: tuple = ()
        if platform:
            query += " WHERE platform = ?"
            args = (platform,)
        with self._connect() as conn:
            found = conn.execute(query + " ORDER BY slot_at, platform", args).fetchall()
        return [LedgerRow(p, from_ts_seconds(s), from_ts_seconds(h), o, pid, d) for p, s, h, o, pid, d in found]


class ReportedFiles(_Table):
    """Bad article file versions already reported (table ``reported_files``, in the queue database).

    The scanner's memory lasts one process; this one lasts across runs, so that with cron's
    ``publisher run --once`` every few minutes a file that stays bad is reported once, and again
    only when its content (or the problem found in it) changes.
    """

    def _opened(self, conn: sqlite3.Connection) -> None:  # m003_reported_files
        self._paths = {row[0] for row in conn.execute("SELECT DISTINCT path FROM reported_files")}

    @staticmethod
    def _key(path: Path) -> str:
        return str(Path(path).resolve())

    @staticmethod
    def fingerprint(path: Path) -> str:
        """The content's SHA-256 (for a file that cannot be read: its size and modification time)."""
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            try:
                st = Path(path).stat()
            except OSError:
                return "missing"
            return f"unreadable:{st.st_size}:{st.st_mtime_ns}"

    def first_report(self, path: Path, message: str, now: dt.datetime) -> bool:
        """Record that ``message`` was found in this version of ``path``; False when it was
        already reported (the caller then stays quiet)."""
        key, digest = self._key(path), self.fingerprint(path)
        with self._connect() as conn:
            row = conn.execute("SELECT message FROM reported_files WHERE path = ? AND content_hash = ?",
                               (key, digest)).fetchone()
            if row is not None and row[0] == message:
                return False
            conn.execute("INSERT INTO reported_files (path, content_hash, message, reported_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (path, content_hash) DO UPDATE SET message = excluded.message, "
                         "reported_at = excluded.reported_at", (key, digest, message, ts_seconds(now)))
        self._paths.add(key)
        return True

    def message(self, path: Path) -> str | None:
        """What was reported about this version of ``path`` (None: nothing). The daemon asks it
        whether the version crashed (or hung) the translation worker before: then it is not
        tried again until it changes (each try could cost the whole time-out)."""
        key = self._key(path)
        if key not in self._paths:
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT message FROM reported_files WHERE path = ? AND content_hash = ?",
                               (key, self.fingerprint(path))).fetchone()
        return None if row is None else row[0]

    def forget(self, path: Path) -> None:
        """The file was ingested: a later bad version of it is news again."""
        key = self._key(path)
        if key in self._paths:
            with self._connect() as conn:
                conn.execute("DELETE FROM reported_files WHERE path = ?", (key,))
            self._paths.discard(key)
