"""`publisher db migrate` and `publisher db copy`: set up a database, move a queue between databases
(added to the `publisher db` group in publisher/cli/db.py)."""

from __future__ import annotations

import json

import click

from publisher.cli._common import json_option


@click.command()
@click.argument("database", required=False)
@json_option
def migrate(database: str | None, as_json: bool) -> None:
    """Create the queue's tables in DATABASE (default: PUBLISHER_DB) or bring them to this version.

    Every command does this on its own when it opens the queue; run it by hand to set up a new
    PostgreSQL database, or to check that the role has the rights it needs. A database written
    by a newer publisher is refused.
    """
    from publisher.config import Paths
    from publisher.queue.dbcopy import migrate as run

    shown, applied, done = run(database or Paths.from_env().db)
    if as_json:
        click.echo(json.dumps({"database": shown, "applied": applied, "migrations": done}))
        return
    if applied:
        click.echo(f"{shown}: applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        click.echo(f"{shown}: up to date ({len(done)} migrations)")


@click.command()
@click.argument("source")
@click.argument("target")
@json_option
def copy(source: str, target: str, as_json: bool) -> None:
    """Copy the whole queue from SOURCE to the empty database TARGET, ids kept.

    For example `publisher db copy ~/desk/publisher.db postgresql://desk@db/publisher` (SOURCE and
    TARGET: a file path, sqlite:///PATH, or a postgresql:// URL; a copy back to a file works too).
    Everything is copied (articles, threads, publications, what was posted, the history, slots,
    accounts, feeds), in one transaction; a TARGET that holds anything is refused. Stop
    `publisher run` first, then point PUBLISHER_DB at the TARGET.
    """
    from publisher.queue.dbcopy import copy as run

    done = run(source, target)
    if as_json:
        click.echo(json.dumps({"source": done.source, "target": done.target, "rows": done.rows}))
        return
    total = sum(done.rows.values())
    click.echo(f"copied {total} rows from {done.source} to {done.target}:")
    for table, n in done.rows.items():
        if n:
            click.echo(f"  {table:16} {n}")
    click.echo("Point PUBLISHER_DB at the new database (and keep the old file as a backup).")
