"""``publisher db migrate`` and ``publisher db copy``: bring a queue database to this version's
schema, and move a whole queue from one database to another (SQLite → PostgreSQL, typically).

A copy takes every table the migrations made (articles, translations, threads and their posts and
media, publications, post results, the history of events, accounts, slots, reported files,
alerts, feeds), keeps every id (so ``publisher show 12`` is the same publication on both) and, on
PostgreSQL, moves each id sequence past the largest id copied. It is one transaction on the
target: all or nothing. It refuses a target that holds any row, a source that a running process
is publishing from, and two databases whose migrations differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from publisher.queue.database import is_postgres, shown, target
from publisher.errors import StoreError

#: Tables in an order that satisfies the foreign keys; tables of later migrations follow.
ORDER = ("articles", "translations", "threads", "thread_posts", "thread_media", "thread_cards", "publications",
         "post_results", "corrections", "media_uploads", "events", "accounts", "schedule_slots", "reported_files", "heartbeat",
         "alerts_sent", "feed_entries", "feed_state")
#: Never copied: the migrations table (each database records its own) and the live leases.
SKIP = frozenset({"migrations", "publisher_leases"})
BATCH = 1000


@dataclass(frozen=True)
class Copied:
    source: str
    target: str
    rows: dict[str, int]


def _tables(db) -> list[str]:
    if getattr(db, "is_postgres", False):
        names = [r[0] for r in db.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")]
    else:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                          "AND name NOT LIKE 'sqlite%'")]
    names = [n for n in names if n not in SKIP]
    known = [n for n in ORDER if n in names]
    return known + sorted(n for n in names if n not in ORDER)


def migrate(value: "Path | str") -> tuple[str, list[str], list[str]]:
    """Open (create) the database and apply what is missing: (shown name, applied now, all applied)."""
    from publisher.queue.outbox import Outbox

    from publisher.queue.schema import MIGRATIONS

    with Outbox.open(target(value)) as box:
        recorded = {r[0] for r in box.db.execute("SELECT name FROM migrations")}
        return str(box.path), list(box.applied), [name for name, _ in MIGRATIONS if name in recorded]


def copy(source_value: "Path | str", target_value: "Path | str") -> Copied:
    from publisher.queue.outbox import Outbox
    from publisher.queue.owner import owner_alive

    source, dest = target(source_value), target(target_value)
    if not is_postgres(source) and not Path(source).exists():
        raise StoreError(f"{source}: no queue database there")
    if str(source) == str(dest):
        raise StoreError(f"{shown(source)}: the source and the target are the same database")
    with Outbox.open(source) as src, Outbox.open(dest) as dst:
        busy = [(pid, owner) for pid, owner in src.db.execute(
            "SELECT id, owner FROM publications WHERE state = 'publishing'") if owner_alive(owner)]
        if busy:
            raise StoreError(f"{src.path}: publication {busy[0][0]} is being published right now; stop "
                             "`publisher run` (and any `publisher publish`) before copying")
        mine = {r[0] for r in src.db.execute("SELECT name FROM migrations")}
        theirs = {r[0] for r in dst.db.execute("SELECT name FROM migrations")}
        if mine != theirs:
            raise StoreError(f"{dst.path}: its migrations differ from {src.path}'s "
                             f"({', '.join(sorted(mine ^ theirs))}); run `publisher db migrate` on both")
        tables = _tables(src.db)
        missing = sorted(set(tables) - set(_tables(dst.db)))
        if missing:
            raise StoreError(f"{dst.path}: has no table {', '.join(missing)}")
        for table in tables:
            if dst.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
                raise StoreError(f"{dst.path}: not empty (table {table} has rows); copy only into a new, "
                                 "empty database")
        counts: dict[str, int] = {}
        with dst.transaction() as db:
            for table in tables:
                cur = src.db.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cur.description] if cur.description else []
                rows = cur.fetchall()
                if rows:
                    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
                           f"VALUES ({', '.join('?' * len(columns))})")
                    try:
                        for start in range(0, len(rows), BATCH):
                            db.executemany(sql, [tuple(r) for r in rows[start:start + BATCH]])
                    except Exception as exc:  # sqlite3.Error or its PostgreSQL counterparts
                        import sqlite3

                        if not isinstance(exc, sqlite3.Error):
                            raise
                        raise StoreError(f"{dst.path}: cannot copy table {table}: {exc}") from None
                counts[table] = len(rows)
            if dst.postgres:  # the next id after the largest copied (identity columns)
                for table in tables:
                    seq = db.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()[0] \
                        if _has_id(db, table) else None
                    if seq and counts.get(table):
                        db.execute(f"SELECT setval(?, (SELECT max(id) FROM {table}))", (seq,))
        for table in tables:
            n = dst.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if n != counts[table]:
                raise StoreError(f"{dst.path}: table {table} has {n} rows after the copy, not {counts[table]}")
        return Copied(str(src.path), str(dst.path), counts)


def _has_id(db, table: str) -> bool:
    return db.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                      "AND table_name = ? AND column_name = 'id'", (table,)).fetchone() is not None
