"""The ``publisher`` command: a thin shell over the library.

Each command lives in its own module under ``publisher.cli`` and is imported only when it is
run (or when ``--help`` lists it), so start-up stays fast; heavy libraries are imported inside
the functions that need them.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from publisher import __version__

#: command name -> "module:attribute" (module relative to publisher.cli)
COMMANDS: dict[str, str] = {
    "preview": "preview:preview",
    "models": "models:models",
    "translate": "translate:translate",
    "ingest": "ingest:ingest",
    "db": "db:db",
    "fetch": "fetch:fetch",
    "queue": "queue:queue",
    "show": "queue:show",
    "edit": "review:edit",
    "approve": "review:approve",
    "reject": "review:reject",
    "publish": "publish:publish",
    "retry": "review:retry",
    "resolve": "publish:resolve",
    "accounts": "accounts:accounts",
    "run": "run:run",
    "schedule": "run:schedule_cmd",
    "status": "status:status",
    "notify": "status:notify",
    "init": "init:init",
    "db": "db:db",
}


#: Commands that read the queue: a database that is not there is an error (a mistyped
#: PUBLISHER_DB must not look like an empty queue). `init` and the first `ingest` create it.
NEEDS_DATABASE = frozenset({"queue", "show", "edit", "approve", "reject", "publish", "retry", "resolve",
                            "schedule", "status"})
#: Commands that may make the database, and say so on stderr when they do.
MAKES_DATABASE = frozenset({"ingest", "run", "accounts"})


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            module = importlib.import_module(f"{__name__}.{module_name}")
            return getattr(module, attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        from publisher.errors import PublisherError

        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            raise UserError(str(exc), exc.exit_code) from None


class UserError(click.ClickException):
    """A PublisherError on its way to the terminal: ``error: message`` and its exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="publisher")
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=str), default=None,
              help="The workspace folder (holding schedule.yaml and .env; default: $PUBLISHER_WORKSPACE, else "
                   "the first folder holding a schedule.yaml from the current folder upward).")
def cli(workspace: str | None) -> None:
    """Translate Chinese articles offline and post them as credited threads.

    Drop Markdown or text articles into seeds/ or an inbox folder, preview the threads,
    approve them, and let `publisher run` post them in the slots schedule.yaml defines.
    `publisher init DIR` makes a workspace to start from.
    """
    from publisher import workspace as ws

    ws.activate(workspace, fresh=True)
    ctx = click.get_current_context()
    from publisher import config

    config.DATABASE_MUST_EXIST = ctx.invoked_subcommand in NEEDS_DATABASE  # checked when the queue is opened
    if ctx.invoked_subcommand in MAKES_DATABASE and not ctx.resilient_parsing:
        from publisher.config import Paths, database_origin

        db = Paths.from_env().db
        if not isinstance(db, str) and not db.exists() and "--help" not in sys.argv[1:] and "-h" not in sys.argv[1:]:
            click.echo(f"note: no queue database at {db} ({database_origin()}): creating it", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and an exit code."""
    from publisher.errors import PublisherError
    from publisher.cli._common import install_safe_echo

    install_safe_echo()
    try:
        rc = cli.main(args=argv, prog_name="publisher", standalone_mode=False)
        # In non-standalone mode click returns the code of a ctx.exit()/Exit instead of exiting.
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except PublisherError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: one line for users, the traceback when debugging
        if type(exc).__name__ == "OperationalError" and "full" in str(exc):  # sqlite3: SQLITE_FULL
            click.echo("error: the disk holding the database is full; nothing was lost (the change that did "
                       "not fit was not saved): free some space and run the command again", err=True)
            sys.exit(74)
        if os.environ.get("PUBLISHER_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set PUBLISHER_DEBUG=1 for the traceback)",
                   err=True)
        sys.exit(70)
