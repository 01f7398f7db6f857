"""The two terminal consoles everything prints through: results on stdout, per-file problems and
progress on stderr. Control and bidi characters in what they render show as ``?``.

Below the CLI so that :mod:`publisher.progress` can draw on the same stderr console as the
commands (rich is imported on first use, not here).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

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


def out() -> "Console":
    """Console for results (stdout)."""
    return _console(False)


def err() -> "Console":
    """Console for per-file problems and progress (stderr)."""
    return _console(True)
