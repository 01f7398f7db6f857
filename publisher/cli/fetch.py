"""`publisher fetch`: fetch feeds or article pages by hand, into article files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.console import err
from publisher.cli._common import json_option


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The folder the article files are written to. Default: the folder (path:) of the "
                   "schedule.yaml source whose feed: or pages: has the URL.")
@click.option("--backfill", type=click.IntRange(0, 100), default=None,
              help="For a feed fetched for the first time: how many of its newest entries to fetch "
                   "(default: the source's backfill, else 3). The others are remembered as seen.")
@click.option("--force", is_flag=True, help="Fetch even when the server says nothing changed (no conditional GET).")
@click.option("--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The schedule file (default: $PUBLISHER_SCHEDULE, else ./schedule.yaml if it exists).")
@json_option
def fetch(urls: tuple[str, ...], folder: Path | None, backfill: int | None, force: bool,
          schedule_path: Path | None, as_json: bool) -> None:
    """Fetch RSS/Atom feeds or article pages into article files.

    A feed's new entries (on its first fetch, only the newest few) and a page are each fetched,
    their main text extracted to Markdown and written as an article file with its credits in the
    frontmatter (title, author, date, publication, source_url, fetched_at). An entry or page
    fetched before is written again only when it changed (a new revision of the same article,
    never a second one). Without URLs, every feed and page of schedule.yaml is fetched now.
    Queue the files with `publisher ingest FOLDER`, or let `publisher run` pick them up.
    Problems are one line per URL, and the exit code is 1.
    """
    from publisher.config import Paths
    from publisher.feeds.fetcher import Fetcher, Outcome
    from publisher.feeds.store import FeedStore
    from publisher.queue.outbox import Outbox
    from publisher.schedule.config import load_schedule_if_present

    schedule = load_schedule_if_present(schedule_path)
    jobs: list[tuple[str, Path | None, int, str]] = []  # url, folder, backfill, kind
    if urls:
        for url in urls:
            target, n, kind = folder, backfill, "any"
            source = None
            if schedule is not None:
                source = next((s for s in schedule.sources if s.feed == url or url in s.pages), None)
            if source is not None:
                target = target or schedule.source_dir(source)
                n = n if n is not None else source.backfill
                kind = "feed" if source.feed == url else "page"
            jobs.append((url, target, 3 if n is None else n, kind))
    else:
        if schedule is None:
            raise click.UsageError("give the URLs to fetch (no schedule.yaml, so no feeds or pages to fetch)")
        for source in schedule.sources:
            target = folder or schedule.source_dir(source)
            n = backfill if backfill is not None else source.backfill
            if source.feed:
                jobs.append((source.feed, target, n, "feed"))
            jobs.extend((page, target, n, "page") for page in source.pages)
        if not jobs:
            raise click.UsageError(f"{schedule.file}: no source has a feed: or pages:; give the URLs to fetch")
    missing = [url for url, target, _, _ in jobs if target is None]
    if missing:
        raise click.UsageError(f"{missing[0]}: say where to write it with --to FOLDER (it is not a feed or page "
                               "of a schedule.yaml source)")

    db = Paths.from_env().db
    Outbox.open(db).close()  # the queue database, created (private) and migrated like every command does
    fetcher = Fetcher(FeedStore(db))
    results: list[Outcome] = []
    try:
        for url, target, n, kind in jobs:
            assert target is not None
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                results.append(Outcome(url, "failed", detail=f"{url}: cannot create {target}: {exc.strerror or exc}"))
                click.echo(f"error: {results[-1].line()}", err=True)
                continue
            if kind == "feed":
                got = fetcher.poll_feed(url, target, backfill=n, conditional=not force)
            elif kind == "page":
                got = [fetcher.fetch_page(url, target, conditional=not force)]
            else:
                got = fetcher.fetch_url(url, target, backfill=n, conditional=not force)
            for outcome in got:
                results.append(outcome)
                if as_json:
                    continue
                if outcome.status == "failed":
                    click.echo(f"error: {outcome.line()}", err=True)
                elif outcome.status != "skipped":
                    click.echo(_line(outcome))
    finally:
        fetcher.close()
    counts = {s: sum(1 for o in results if o.status == s) for s in ("new", "updated", "unchanged", "not_modified",
                                                                      "skipped", "kept", "failed")}
    if as_json:
        click.echo(json.dumps([{"url": o.url, "status": o.status, "path": str(o.path) if o.path else None,
                                "title": o.title, "detail": o.detail} for o in results], ensure_ascii=False, indent=2))
    else:
        parts = [f"{counts['new']} new", f"{counts['updated']} updated",
                 f"{counts['unchanged'] + counts['not_modified']} unchanged"]
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} older entries skipped (backfill)")
        if counts["kept"]:
            parts.append(f"{counts['kept']} kept as edited by hand")
        parts.append(f"{counts['failed']} failed")
        err().print(", ".join(parts))
        if counts["new"] or counts["updated"]:
            err().print("queue them with `publisher ingest FOLDER`, or let `publisher run` pick them up")
    if counts["failed"]:
        raise click.exceptions.Exit(1)


def _line(outcome) -> str:
    label = {"not_modified": "unchanged"}.get(outcome.status, outcome.status)
    where = f"  {outcome.path}" if outcome.path else ""
    title = f"  ({outcome.title})" if outcome.title else ""
    detail = f"  {outcome.detail}" if outcome.detail else ""
    return f"{label:<9}  {outcome.url}{where}{title}{detail}"
