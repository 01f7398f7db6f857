"""`publisher db`: look after the queue database (check, backup, repair the clock ledger; migrate
and copy: publisher/cli/db_move.py)."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli.db_move import copy, migrate


@click.group("db")
def db() -> None:
    """Check, back up, repair, migrate or copy the queue database ($PUBLISHER_DB).

    PUBLISHER_DB names the database: a file path (SQLite, the default) or a PostgreSQL URL
    (postgresql://user@host/dbname) for a queue shared by several machines.
    """


db.add_command(migrate)
db.add_command(copy)


def _path(what: str | None = None) -> Path:
    """The queue database; with ``what``, a SQLite file only (a one-line error for a server)."""
    from publisher.config import Paths
    from publisher.queue.database import is_postgres, shown

    db_path = Paths.from_env().db
    if what and is_postgres(db_path):
        from publisher.errors import StoreError

        raise StoreError(f"{shown(db_path)}: `publisher db {what}` is for a SQLite file; on PostgreSQL use the "
                         "server's tools (pg_dump, amcheck), or `publisher db copy URL sqlite:///FILE` for a copy")
    return db_path  # type: ignore[return-value]


@db.command("check")
def check() -> None:
    """Run SQLite's full integrity_check on the queue database (reads only; exit 1 when damaged)."""
    from publisher.queue import db as storage
    from publisher.errors import StoreError

    path = _path("check")
    storage.refuse_empty(path)
    try:
        conn = storage.open_read_only(path)
    except Exception as exc:  # sqlite3.Error: not a database at all
        raise StoreError(f"{path}: cannot be read as a database ({exc}); {storage.RESTORE_ADVICE}") from None
    try:
        problems = storage.check(conn, path, full=True)
    finally:
        conn.close()
    if problems:
        for line in problems[:20]:
            click.echo(f"{path}: {line}", err=True)
        raise storage.DatabaseDamaged(f"{path}: the database is damaged ({len(problems)} problem"
                                      f"{'s' if len(problems) > 1 else ''}); {storage.RESTORE_ADVICE}")
    click.echo(f"{path}: ok (integrity_check found no problem)")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Copy the queue database to TARGET, consistently, even while the daemon runs (SQLite's
    online backup API); TARGET must not exist and is made readable by you only."""
    from publisher.queue import db as storage

    size = storage.backup(_path("backup"), target)
    click.echo(f"backed up {_path()} to {target} ({size:,} bytes, integrity_check ok)")


@db.command("repair-clock")
@click.option("--dry-run", is_flag=True, help="Only say what would change.")
def repair_clock(dry_run: bool) -> None:
    """After a clock fault (the clock was ahead): forget slots recorded in the future, make retries
    and pauses computed from that clock due now. Never changes what was posted."""
    import datetime as dt

    from publisher.queue import clockfix
    from publisher.queue.outbox import Outbox

    now = dt.datetime.now(dt.timezone.utc)
    with Outbox.open(_path()) as box:
        report = clockfix.inspect(box.db, now) if dry_run else clockfix.repair(box.db, now)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.slots} slot record(s) in the future"
               + (f" (up to {report.latest})" if report.latest else "")
               + f"; {'would make' if dry_run else 'made'} {report.retries} retr{'y' if report.retries == 1 else 'ies'}"
               f" and {report.pauses} account pause(s) due now; nothing posted is changed")
    if report.posts:
        click.echo(f"note: {report.posts} post(s) were recorded with a time in the future; they are permanent "
                   "records and keep counting against the rolling quota until that time", err=True)
