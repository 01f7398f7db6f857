"""`publisher accounts`: check that each platform's credentials work, without posting."""

from __future__ import annotations

import click


@click.group("accounts")
def accounts() -> None:
    """Platform accounts: check that the credentials in the environment work."""


@accounts.command("check")
@click.argument("platforms", nargs=-1)
def check(platforms: tuple[str, ...]) -> None:
    """Verify credentials for each configured platform (or those named), posting nothing.

    A platform whose credentials are rejected is stopped: nothing is posted to it until a
    check succeeds, which also puts back in line what waited for it. Exit status 1 when any
    check fails, a named platform is not configured, or none is configured.
    """
    from publisher.errors import ConfigError
    from publisher.queue.outbox import Outbox
    from publisher.settings import configured_platform
    from publisher.platforms.base import AuthFailed, PostFailed
    from publisher.platforms.registry import NAMES as PLATFORMS

    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise click.BadParameter(f"unknown platform {unknown[0]!r}; known: {', '.join(sorted(PLATFORMS))}")
    names = list(platforms) or sorted(PLATFORMS)
    outbox = Outbox.open()
    failed = configured = 0
    for name in names:
        try:
            platform = configured_platform(name)
        except ConfigError as exc:
            click.echo(f"{name}: not configured ({str(exc).split(': ', 1)[-1]})")
            failed += bool(platforms)
            continue
        configured += 1
        try:
            account = platform.check()
        except AuthFailed as exc:
            reason = f"credentials rejected by {name}: {str(exc).split(': ', 1)[-1]}"
            outbox.block_account(name, reason)
            click.echo(f"{name}: FAILED — {reason}. Posting to {name} is stopped until this check succeeds.")
            failed += 1
            continue
        except PostFailed as exc:
            click.echo(f"{name}: could not check — {exc}")
            failed += 1
            continue
        waiting = outbox.unblock_account(name, handle=account.handle)
        limit = f", posts up to {account.max_characters} characters" if account.max_characters else ""
        click.echo(f"{name}: ok — {account.handle}" + (f" (id {account.id})" if account.id else "") + limit)
        if waiting:
            click.echo(f"  {len(waiting)} publication(s) that waited for this account are back in line: "
                       + ", ".join(map(str, waiting)))
    if not configured and not platforms:
        click.echo("error: no platform is configured (see README: credentials come from the environment or .env)",
                   err=True)
        raise click.exceptions.Exit(1)
    if failed:
        raise click.exceptions.Exit(1)
