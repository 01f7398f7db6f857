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
    from rich.segment import Segment

    from publisher.textsafe import for_terminal

    class SafeConsole(Console):
        """A rich Console that shows control and bidi characters in the text it renders as ``?``
        (file names, titles and posts are data; an escape sequence in them must not act)."""

        def render(self, renderable, options=None):  # type: ignore[no-untyped-def,override]
            for segment in super().render(renderable, options):
                if segment.control is None and segment.text:
                    yield Segment(for_terminal(segment.text), segment.style, None)
                else:
                    yield segment

    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=False)


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
