"""Progress on stderr for the slow commands (`ingest`, `translate`): articles done of all, and
sentences done of the article being translated.

Shown only on a terminal and never with ``--json``: a log or a pipe gets the one-line results
and nothing else. The sentence count comes from :class:`ProgressTranslator`, which hands the
model the article's sentences in chunks (each still one batched call) and reports after each;
the output is the same as one call, sentence for sentence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from rich.console import Console

#: Sentences per call to the model while progress is shown (each call is still batched and
#: decoded in parallel; fewer, larger calls only when nobody watches).
CHUNK = 16


def wanted(as_json: bool, console: "Console | None" = None) -> bool:
    if as_json:
        return False
    if console is None:
        from publisher.console import err

        console = err()
    return console.is_terminal


class Progress:
    """Two bars: ``articles`` (done of ``total``) and ``sentences`` of the current article."""

    def __init__(self, total: int | None, *, console: "Console | None" = None, what: str = "articles"):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
            TimeElapsedColumn

        if console is None:
            from publisher.console import err

            console = err()
        self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self._files = self._bar.add_task(what, total=total)
        self._sentences = self._bar.add_task("  sentences", total=None, visible=False)

    def __enter__(self) -> "Progress":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def sentences(self, done: int, total: int) -> None:
        self._bar.update(self._sentences, completed=done, total=total, visible=True)

    def file_done(self, label: str | None = None) -> None:
        self._bar.advance(self._files)
        self._bar.update(self._sentences, completed=0, total=None, visible=False)
        if label:
            self._bar.update(self._files, description=label)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """A line above the bars (results are printed while the bars run)."""
        self._bar.console.print(*args, **kwargs)


class ProgressTranslator:
    """A translator that reports sentences done to ``progress`` (everything else is the model's)."""

    def __init__(self, inner: Any, progress: Progress, chunk: int = CHUNK):
        self._inner = inner
        self._progress = progress
        self._chunk = max(1, chunk)

    def __getattr__(self, name: str) -> Any:  # name, version, identity... are the model's
        return getattr(self._inner, name)

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        out: list[str] = []
        total = len(sentences)
        self._progress.sentences(0, total)
        for start in range(0, total, self._chunk):
            out.extend(self._inner.translate_sentences(list(sentences[start:start + self._chunk])))
            self._progress.sentences(len(out), total)
        return out


def count_articles(paths: Sequence[Any]) -> int:
    from publisher.articles.read import find_article_files

    return sum(1 for _ in find_article_files(paths))


def emit(bar: "Progress | None", line: str, err: bool = False) -> None:
    """A result line (stdout, or stderr with ``err``); above the progress bars when they share
    the terminal with it."""
    import sys

    import click

    stream = sys.stderr if err else sys.stdout
    if bar is not None and stream.isatty():
        bar.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        click.echo(line, err=err)
