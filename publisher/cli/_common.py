"""Shared pieces of the commands: consoles and option decorators."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import click

if TYPE_CHECKING:
    from rich.console import Console


@functools.lru_cache(maxsize=None)
def _console(stderr: bool) -> "Console":
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def out() -> "Console":
    """Console for results (stdout)."""
    return _console(False)


def err() -> "Console":
    """Console for per-file problems and progress (stderr)."""
    return _console(True)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead.")(f)


def report_failure(failure) -> None:
    """One line on stderr naming the file and the problem."""
    click.echo(f"error: {failure.error}", err=True)
