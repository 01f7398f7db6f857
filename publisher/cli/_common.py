"""Shared pieces of the commands: the safe ``click.echo`` and option decorators (the consoles are
:mod:`publisher.console`)."""

from __future__ import annotations

from typing import Callable

import click


def install_safe_echo() -> None:
    """Make ``click.echo`` (every plain line the commands print) show control and bidi
    characters as ``?``, like the consoles do; styled output of click (``secho``) keeps its own
    escape codes, which are added after the text is made safe."""
    from publisher.textsafe import for_terminal

    if getattr(click.echo, "_publisher_safe", False):
        return
    original = click.echo

    def echo(message=None, file=None, nl=True, err=False, color=None):  # type: ignore[no-untyped-def]
        if isinstance(message, str):
            message = for_terminal(message)
        return original(message, file=file, nl=nl, err=err, color=color)

    echo._publisher_safe = True  # type: ignore[attr-defined]
    click.echo = echo  # type: ignore[assignment]


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead.")(f)


def report_failure(failure) -> None:
    """One line on stderr naming the file and the problem."""
    click.echo(f"error: {failure.error}", err=True)
