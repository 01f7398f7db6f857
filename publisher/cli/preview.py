"""`publisher preview`: the dry run in the terminal. Nothing is posted or stored."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from publisher.bounds import MAX_POINTS, MAX_POSTS, MIN_POINTS, MIN_POSTS
from publisher.platforms.registry import NAMES
from publisher.console import err, out
from publisher.cli._common import json_option, report_failure

if TYPE_CHECKING:
    from rich.console import Console

    from publisher.models import Article, TranslatedArticle
    from publisher.preview import ArticlePreview
    from publisher.threads.layout import ThreadDraft

PLATFORM_CHOICES = (*NAMES, "all")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--platform", "platform", type=click.Choice(PLATFORM_CHOICES), default="x", show_default=True,
              help="Which platform's thread to show.")
@click.option("--side-by-side", is_flag=True, help="Show the Chinese source sentence beside each English point.")
@click.option("--points", type=click.IntRange(MIN_POINTS, MAX_POINTS), default=None,
              help="How many key points to try to include (default 4).")
@click.option("--max-posts", type=click.IntRange(MIN_POSTS, MAX_POSTS), default=None,
              help="Most posts in a thread, hook and attribution included (default 6).")
@click.option("--limit", "limits", multiple=True, metavar="PLATFORM=N",
              help="Post limit for a platform, e.g. x=25000 for a long-post account or mastodon=1000.")
@click.option("--allow", multiple=True, metavar="@NAME|#TAG|$CASH",
              help="Mention, hashtag or cashtag from article text that may stay live (repeatable).")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Template folder overriding the defaults (default: ./templates).")
@click.option("--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where thread settings (limits, posts, points, allow-list) are read from, as for ingest "
                   "and the daemon (default: $PUBLISHER_SCHEDULE, else ./schedule.yaml if it exists); "
                   "the options above override them.")
@click.option("--no-images", is_flag=True,
              help="Text-only threads: fetch no images (default: schedule.yaml's threads.images, else the lead image).")
@json_option
def preview(paths: tuple[Path, ...], platform: str, side_by_side: bool, points: int | None,
            max_posts: int | None, limits: tuple[str, ...], allow: tuple[str, ...], templates: Path | None,
            schedule_path: Path | None, no_images: bool, as_json: bool) -> None:
    """Show the threads publisher would post for article files and folders (a dry run).

    For each article: what was read (title, author, date, source, language, blocks, images with
    their credits, boilerplate that never reaches a summary), the translated title, and each post
    of the thread in its own panel with its length and the platform's limit, counted the way the
    platform counts. Warnings say what was left untranslated, which glossary terms were used and
    which points were dropped to fit. Nothing is posted and nothing is queued.

    Threads are cut with the settings `publisher ingest` and `publisher run` use (schedule.yaml's
    threads: and platforms: limits), with the options given here on top. Without a translation
    model installed, the articles are shown untranslated, with a warning saying how to install
    one. Bad files are reported one line each; the others are still shown, and the exit code is
    1 if any file failed.
    """
    from publisher.app import FileOutcome
    from publisher.settings import resolve_settings
    from publisher.preview import Translation, preview_files
    from publisher.schedule.config import load_schedule_if_present

    settings = resolve_settings(load_schedule_if_present(schedule_path), images="off" if no_images else None,
                                **_option_values(points, max_posts, limits, allow, templates))
    platforms = NAMES if platform == "all" else (platform,)
    translation = Translation()
    if settings.schedule is not None:  # the engine schedule.yaml's translation: block chooses
        translation.pipeline.translation = settings.schedule.translation_for
    previews, failures = [], []

    def shown(outcome: FileOutcome) -> None:
        if outcome.error is not None:
            failures.append(outcome)
            if not as_json:
                report_failure(outcome)
            return
        result = outcome.preview
        if result.untranslated is not None:
            err().print(f"[bold yellow]warning: the threads below are UNTRANSLATED (Chinese):[/bold yellow] "
                        f"{_esc(result.untranslated)}")
        previews.append(result)
        if not as_json:
            show_preview(result, side_by_side=side_by_side)

    preview_files(paths, platforms, settings, translation, on_outcome=shown)
    if as_json:
        payload = {"articles": [preview_json(p) for p in previews],
                   "errors": [{"path": str(f.path), "error": f.error.problem} for f in failures]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        err().print(f"{len(previews)} read, {len(failures)} failed")
    if failures:
        raise click.exceptions.Exit(1)


def _option_values(points: int | None, max_posts: int | None, limits: tuple[str, ...],
                   allow: tuple[str, ...], templates: Path | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if points is not None:
        values["points"] = points
    if max_posts is not None:
        values["max_posts"] = max_posts
    parsed: dict[str, int] = {}
    for item in limits:
        name, sep, number = item.partition("=")
        if not sep or not number.strip().isdigit():
            raise click.BadParameter(f"{item!r}: expected PLATFORM=N, e.g. x=280", param_hint="--limit")
        parsed[name.strip().lower()] = int(number)
    if parsed:
        values["limits"] = parsed
    if allow:
        values["allow"] = frozenset(allow)
    if templates is not None:
        values["templates"] = templates
    return values


# --- JSON ------------------------------------------------------------------------------------


def article_json(article: Article) -> dict:
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


def preview_json(preview: ArticlePreview) -> dict:
    out = dict(article_json(preview.article), translation=translation_json(preview.translated),
               threads={p: draft_json(d) for p, d in preview.drafts.items()})
    if preview.chosen is not None:
        out.update(choice_json(preview.chosen))
    return out


def choice_json(chosen: Any) -> dict:
    """The credit, the kind of article and what the filters did, for --json."""
    from publisher.threads.credits import credit_completeness
    from publisher.threads.plan import hold_reasons

    credit, selection = chosen.credit, chosen.selection
    return {
        "credit": {"author": credit.author, "publication": credit.publication, "url": credit.url,
                   "date": credit.date.isoformat() if credit.date else None, "republisher": credit.republisher,
                   "republisher_url": credit.republisher_url, "byline": credit.byline, "licence": credit.licence,
                   "complete": credit_completeness(credit), "found": list(credit.found)},
        "kind": {"kind": selection.kind, "why": selection.kind_reason},
        "held": list(hold_reasons(selection, credit)),
        "sentences": [{"text": r.original, "used_as": r.text, "verdict": r.verdict, "filters": list(r.fired)}
                      for r in selection.reviewed],
    }


def translation_json(translated: TranslatedArticle) -> dict:
    return {
        "title": translated.title,
        "translated": translated.translated,
        "model": translated.model,
        "model_version": translated.model_version,
        "glossary_hits": list(translated.glossary_hits),
        "warnings": list(translated.warnings),
    }


def draft_json(draft: ThreadDraft) -> dict:
    thread = draft.thread
    return {
        "platform": thread.platform,
        "title": thread.title,
        "content_hash": thread.content_hash,
        "template": draft.template,
        "posts": [{"number": n, "role": rp.post.role, "text": rp.post.text, "length": rp.post.length,
                   "limit": rp.post.limit, "rank": rp.point.rank if rp.point else None, "part": rp.part,
                   "sources": list(rp.sources)}
                  for n, rp in enumerate(draft.posts, start=1)],
        "dropped": [{"rank": p.rank, "text": p.text, "sources": list(p.sources)} for p in draft.dropped],
        "images": [{"post": m.post + 1, "source": m.source, "sha256": m.sha256, "mime": m.mime, "width": m.width,
                    "height": m.height, "bytes_before": m.original_size, "bytes_after": m.size, "animated": m.animated,
                    "alt": m.alt, "credit": m.credit} for m in thread.media],
        "card": ({"post": thread.card.post + 1, "uri": thread.card.uri, "title": thread.card.title,
                  "description": thread.card.description,
                  "thumb": thread.card.thumb.sha256 if thread.card.thumb else None} if thread.card else None),
        "inert": list(draft.inert),
        "warnings": list(thread.warnings),
    }


# --- terminal --------------------------------------------------------------------------------


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show_article(article: Article, console: Console | None = None) -> None:
    from rich.table import Table

    console = console or out()
    kinds = Counter(b.kind for b in article.blocks)
    images = article.images
    credited = sum(1 for i in images if i.credit)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row("title", f"{_esc(article.title)} [dim]({article.title_from})[/dim]")
    grid.add_row("author", _esc(article.author or "—"))
    grid.add_row("date", article.date.isoformat() if article.date else "—")
    source = _esc(article.url or "—")
    if article.publication:
        source = f"{source} [dim]({_esc(article.publication)})[/dim]"
    grid.add_row("source", source)
    grid.add_row("language", article.language + ("" if article.is_chinese else " [yellow](not Chinese: will not be translated)[/yellow]"))
    grid.add_row("blocks", ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    grid.add_row("images", f"{len(images)} ({credited} with a credit line)")
    if article.tags:
        grid.add_row("tags", _esc(", ".join(article.tags)))
    if article.boilerplate:
        lines = [f"line {b.line}: {b.boilerplate} [dim]{_esc(_snippet(b.text or b.source))}[/dim]"
                 for b in article.boilerplate]
        grid.add_row("boilerplate", "\n".join(lines))
    for warning in article.warnings:
        grid.add_row("[yellow]warning[/yellow]", _esc(warning))
    console.print(f"[bold]{_esc(str(article.path))}[/bold]")
    console.print(grid)
    console.print()


def show_preview(preview: ArticlePreview, *, side_by_side: bool = False, console: Console | None = None) -> None:
    show_article(preview.article, console)
    if preview.chosen is not None:
        show_choice(preview.chosen, console)
    show_threads(preview.translated, preview.drafts, side_by_side=side_by_side, console=console)


def show_choice(chosen: Any, console: Console | None = None) -> None:
    """The credit as the thread will give it, and the kind of article."""
    from rich.table import Table
    from rich.text import Text

    console = console or out()
    credit, selection = chosen.credit, chosen.selection
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    rows = [("credit: author", credit.author), ("credit: publication", credit.publication),
            ("credit: republisher", " ".join(x for x in (credit.republisher, credit.republisher_url and
                                                          f"({credit.republisher_url})",
                                                          credit.byline and f"byline {credit.byline}") if x)),
            ("credit: licence", credit.licence), ("credit: link", credit.url)]
    for label, value in rows:
        if value or label in ("credit: link", "credit: author", "credit: publication"):
            grid.add_row(label, Text(value) if value else Text("— none", style="bold red"))
    kind = selection.kind if selection.kind == "news" else f"{selection.kind}: {selection.kind_reason}"
    grid.add_row("kind", Text(kind, style="" if selection.kind == "news" else "bold red"))
    console.print(grid)
    console.print()


def show_threads(translated: TranslatedArticle, drafts: dict[str, ThreadDraft], *, side_by_side: bool = False,
                 console: Console | None = None) -> None:
    """The translated title, then every post of every thread in its own panel."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = console or out()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row("translated title", Text(translated.title))
    model = (f"{translated.model} {translated.model_version}".strip() if translated.translated
             else "[bold red]none: NOT TRANSLATED[/bold red]")
    grid.add_row("translation", model)
    if translated.glossary_hits:
        grid.add_row("glossary terms used", Text(", ".join(translated.glossary_hits)))
    for warning in translated.warnings:
        grid.add_row("[yellow]warning[/yellow]", Text(warning))
    console.print(grid)
    for platform, draft in drafts.items():
        thread = draft.thread
        console.print()
        console.rule(f"[bold]{platform}[/bold] thread: {len(thread.posts)} posts, limit "
                     f"{thread.posts[0].limit if thread.posts else '?'}" + _cost_note(platform, thread))
        for number, rp in enumerate(draft.posts, start=1):
            post = rp.post
            over = post.length > post.limit
            style = "red" if over else ("yellow" if post.length > post.limit * 0.95 else "green")
            label = post.role + (f" · rank {rp.point.rank}" if rp.point else "") + \
                (f" · part {rp.part}" if rp.part > 1 else "")
            panel = Panel(Text(post.text, overflow="fold"), title=f"{number}/{len(draft.posts)} {label}", title_align="left",
                          subtitle=f"[{style}]{post.length}/{post.limit}[/{style}]", subtitle_align="right",
                          expand=side_by_side, width=None if side_by_side else min(console.width, 72))
            if side_by_side:
                table = Table.grid(padding=(0, 2), expand=True)
                table.add_column(ratio=3)
                table.add_column(ratio=2)
                source = Text("\n".join(rp.sources), style="dim", overflow="fold") if rp.sources else Text(
                    "(continued)" if rp.part > 1 else "", style="dim")
                table.add_row(panel, source)
                console.print(table)
            else:
                console.print(panel)
            _show_images(thread, number - 1, console)
        from publisher.threads.plan import HOLD

        held = {HOLD + reason: reason for reason in thread.held}
        for warning in thread.warnings:
            if warning in held:
                console.print(f"[bold red]HELD FOR A PERSON, never auto-approved:[/bold red] {_esc(held[warning])}")
            else:
                console.print(f"[yellow]warning:[/yellow] {_esc(warning)}")
    console.print()


def _show_images(thread: Any, index: int, console: Console) -> None:
    """The images (and card) of post ``index``: size before and after fitting, alt text, credit."""
    from publisher.media.upload import describe

    images = [m for m in thread.media if m.post == index]
    card = thread.card if thread.card is not None and thread.card.post == index else None
    for line in describe(images, card):
        console.print(f"  [magenta]{_esc(line)}[/magenta]" if not line.startswith(" ") else f"  [dim]{_esc(line)}[/dim]",
                      soft_wrap=True)


def _cost_note(platform: str, thread) -> str:
    """``, est. $0.245 on X``: what posting the thread would cost (X charges per post)."""
    if platform != "x":
        return ""
    from publisher.schedule.cost import Prices, estimate
    from publisher.errors import ConfigError
    from publisher.cli.truth import current_schedule

    try:
        prices = Prices.of(current_schedule())
    except ConfigError:
        prices = Prices()
    est = estimate(platform, [p.text for p in thread.posts], prices)
    return f", est. ${est.dollars:.3f} on X ({est.with_url} with a link)"


def _snippet(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
