"""`publisher ingest`: translate articles, build their threads, and queue them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.platforms.registry import NAMES
from publisher.console import err
from publisher.cli._common import json_option

PLATFORM_NAMES = NAMES


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--platform", "platforms", multiple=True, type=click.Choice(PLATFORM_NAMES),
              help="Make a thread for this platform (repeatable). Default: the platforms of the "
                   "schedule.yaml source the file lies in, else the enabled platforms of schedule.yaml, "
                   "or all three without one.")
@click.option("--approve/--no-approve", default=None,
              help="Approve the new threads at once, or leave them drafts. Default: as the schedule.yaml "
                   "source the file lies in says (auto_approve), else drafts.")
@click.option("--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where thread settings (limits, posts, points, allow-list) and sources are read from "
                   "(default: $PUBLISHER_SCHEDULE, else ./schedule.yaml if it exists).")
@click.option("--no-images", is_flag=True,
              help="Fetch no images: text-only threads, with a warning (default: schedule.yaml's threads.images, "
                   "else the lead image on the hook).")
@json_option
def ingest(paths: tuple[Path, ...], platforms: tuple[str, ...], approve: bool | None, schedule_path: Path | None,
           no_images: bool, as_json: bool) -> None:
    """Translate article files and folders and queue their threads for approval.

    Each article is translated offline, summarised into a thread per platform and stored as
    drafts (`publisher queue` lists them, `publisher approve ID` releases one). A file inside
    one of schedule.yaml's sources is handled as the daemon would: that source's platforms, and
    approved at once when it auto-approves. The same file again does nothing; a changed file
    becomes a new revision whose threads need approval again (its unposted older threads are
    withdrawn, never reposted silently). Only Chinese articles are queued. Bad files are
    reported one line each and the exit code is 1.
    """
    from publisher.queue.outbox import Outbox
    from publisher.app import FileOutcome, Pipeline, ingest_paths
    from publisher.settings import resolve_settings
    from publisher.schedule.config import load_schedule_if_present

    from contextlib import nullcontext

    from publisher import progress
    from publisher.progress import Progress, ProgressTranslator, count_articles, wanted

    settings = resolve_settings(load_schedule_if_present(schedule_path), platforms=platforms, approve=approve,
                                images="off" if no_images else None)
    bar = Progress(count_articles(paths), what="ingesting") if wanted(as_json) else None
    pipeline = Pipeline(options=settings.options, cache=True)
    if bar is not None:
        pipeline.wrap = lambda translator: ProgressTranslator(translator, bar)
    outbox = Outbox.open()

    def emit(line: str, err: bool = False) -> None:
        progress.emit(bar, line, err)

    def show(outcome: FileOutcome) -> None:
        if as_json:
            return
        if outcome.status == "skipped":  # the same verdict as `publisher translate`
            emit(f"skipped {outcome.message}", err=True)
            return
        if outcome.error is not None:
            emit(f"error: {outcome.message}", err=True)
            return
        ing = outcome.ingested
        assert ing is not None
        if outcome.status == "unchanged":
            emit(f"unchanged  {outcome.path}  (article {ing.article_id}: already queued)")
            return
        parts = []
        for pub_id in ing.publications:
            pub = outbox.get(pub_id)
            stored = outbox.thread(pub_id)
            pictures = f", {len(stored.media)} image{'s' if len(stored.media) != 1 else ''}" if stored.media else ""
            parts.append(f"{pub.platform} #{pub_id} ({pub.state}, {len(stored.posts)} posts{pictures})")
        label = "new" if outcome.status == "new" else f"rev {ing.revision}"
        emit(f"{label:<9}  {outcome.path}  article {ing.article_id}: " + ", ".join(parts))
        if ing.superseded:
            emit("           withdrew the unposted threads of the earlier revision: "
                       + ", ".join(f"#{p}" for p in ing.superseded))
        image_notes = {w for pub_id in ing.publications for w in outbox.thread(pub_id).warnings
                       if w.startswith(("images ", "image ", "no usable lead image"))}
        for note in sorted(image_notes):
            click.echo(f"           warning: {note}")
        if ing.held:
            emit("           not approved, waits for a person: " + "; ".join(ing.held))
        if ing.earlier_posted:
            emit("           an earlier revision was already posted ("
                       + ", ".join(f"#{p}" for p in ing.earlier_posted)
                       + "): this one waits for a person, even with --approve, and goes out as a reply to "
                       "that thread (a correction, not a new thread)")

    def shown(outcome: FileOutcome) -> None:
        show(outcome)
        if bar is not None:
            bar.file_done()

    try:
        with bar if bar is not None else nullcontext():
            outcomes = ingest_paths(paths, outbox, pipeline, settings=settings, on_outcome=shown)
    finally:
        pipeline.close()
    failed = [o for o in outcomes if o.status == "failed"]
    if as_json:
        click.echo(json.dumps([_outcome_json(o) for o in outcomes], ensure_ascii=False, indent=2))
    else:
        queued = sum(1 for o in outcomes if o.status in ("new", "revision"))
        unchanged = sum(1 for o in outcomes if o.status == "unchanged")
        skipped = sum(1 for o in outcomes if o.status == "skipped")
        err().print(f"{queued} queued, {unchanged} unchanged, {skipped} skipped, {len(failed)} failed")
    outbox.close()
    if failed:
        raise click.exceptions.Exit(1)


def _outcome_json(outcome) -> dict:
    if outcome.error is not None:
        return {"path": str(outcome.path), "status": outcome.status, "error": outcome.message}
    ing = outcome.ingested
    return {"path": str(outcome.path), "status": outcome.status, "article_id": ing.article_id,
            "revision": ing.revision, "publications": list(ing.publications), "approved": list(ing.approved),
            "superseded": list(ing.superseded), "earlier_posted": list(ing.earlier_posted), "held": list(ing.held)}
