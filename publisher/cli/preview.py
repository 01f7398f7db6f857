"""`publisher preview`: the dry run in the terminal. Nothing is posted or stored."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from ._common import err, json_option, out, report_failures


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def preview(paths: tuple[Path, ...], as_json: bool) -> None:
    """Show what publisher reads from article files and folders (a dry run).

    For each article: title, author, date, source, language, its blocks, images with their
    credits, and the boilerplate that will never reach a summary. Bad files are reported one
    line each; the others are still shown, and the exit code is 1 if any file failed.
    """
    from ..ingest import ReadFailure, read_articles

    articles, failures = [], []
    for item in read_articles(paths):
        if isinstance(item, ReadFailure):
            failures.append(item)
            if not as_json:
                report_failures([item])
        else:
            articles.append(item)
            if not as_json:
                show_article(item)
    if as_json:
        payload = {"articles": [article_json(a) for a in articles],
                   "errors": [{"path": str(f.path), "error": f.error.problem} for f in failures]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        err().print(f"{len(articles)} read, {len(failures)} failed")
    if failures:
        raise click.exceptions.Exit(1)


def article_json(article) -> dict:
    kinds = Counter(b.kind for b in article.blocks)
    return {
        "path": str(article.path),
        "source_hash": article.source_hash,
        "title": article.title,
        "title_from": article.title_from,
        "author": article.author,
        "date": article.date.isoformat() if article.date else None,
        "url": article.url,
        "publication": article.publication,
        "tags": list(article.tags),
        "language": article.language,
        "blocks": dict(sorted(kinds.items())),
        "images": [{"url": i.url, "alt": i.alt, "line": i.line, "credit": i.credit, "credit_url": i.credit_url}
                   for i in article.images],
        "boilerplate": [{"line": b.line, "reason": b.boilerplate, "text": b.text or b.source}
                        for b in article.boilerplate],
        "warnings": list(article.warnings),
    }


def show_article(article) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = out()
    kinds = Counter(b.kind for b in article.blocks)
    images = article.images
    credited = sum(1 for i in images if i.credit)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row("title", f"{escape(article.title)} [dim]({article.title_from})[/dim]")
    grid.add_row("author", escape(article.author or "—"))
    grid.add_row("date", article.date.isoformat() if article.date else "—")
    source = article.url or "—"
    if article.publication:
        source = f"{source} [dim]({escape(article.publication)})[/dim]"
    grid.add_row("source", source)
    grid.add_row("language", article.language + ("" if article.is_chinese else " [yellow](not Chinese: will not be translated)[/yellow]"))
    grid.add_row("blocks", ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    grid.add_row("images", f"{len(images)} ({credited} with a credit line)")
    if article.tags:
        grid.add_row("tags", escape(", ".join(article.tags)))
    if article.boilerplate:
        lines = [f"line {b.line}: {b.boilerplate} [dim]{escape(_snippet(b.text or b.source))}[/dim]"
                 for b in article.boilerplate]
        grid.add_row("boilerplate", "\n".join(lines))
    for warning in article.warnings:
        grid.add_row("[yellow]warning[/yellow]", escape(warning))
    console.print(f"[bold]{escape(str(article.path))}[/bold]")
    console.print(grid)
    console.print()


def _snippet(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
