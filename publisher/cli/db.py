"""`publisher db`: the queue database itself."""

from __future__ import annotations

import click

from .db_move import copy, migrate


@click.group("db")
def db() -> None:
    """The queue database: bring it up to date, or move it to another database.

    PUBLISHER_DB names the database: a file path (SQLite, the default) or a PostgreSQL URL
    (postgresql://user@host/dbname) for a queue shared by several machines.
    """


db.add_command(migrate)
db.add_command(copy)
