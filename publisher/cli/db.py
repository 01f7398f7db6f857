"""`publisher db`: look after the queue database (check, backup, repair the clock ledger)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("db")
def db() -> None:
    """Check, back up and repair the queue database ($PUBLISHER_DB)."""


def _path() -> Path:
    from ..config import Paths

    return Paths.from_env().db


@db.command("check")
def check() -> None:
    """Run SQLite's full integrity_check on the queue database (reads only; exit 1 when damaged)."""
    from .. import storage
    from ..errors import StoreError

    path = _path()
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
    from .. import storage

    size = storage.backup(_path(), target)
    click.echo(f"backed up {_path()} to {target} ({size:,} bytes, integrity_check ok)")
