"""The queue commands that read it: ``queue`` (the list) and ``show`` (one publication).

Each opens the outbox (``PUBLISHER_DB``), calls one library function and prints the result;
``review.py`` has edit, approve, reject and retry, ``publish.py`` publish and resolve.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from publisher.queue.schema import STATES
from publisher.platforms.registry import NAMES as PLATFORMS
from publisher.cli._common import json_option
from publisher.cli._outbox import Zone, media_lines, open_outbox, time_zone

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import QueueRow

DEFAULT_LIMIT = 100


def _states(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        state = value.replace("-", "_").lower()
        if state not in STATES:
            raise click.BadParameter(f"{value!r} is not a state; states are: {', '.join(STATES)}")
        out.append(state)
    return tuple(out)


# --- queue -----------------------------------------------------------------------------------


def row_json(row: "QueueRow") -> dict[str, Any]:
    return {"id": row.id, "state": row.state, "platform": row.platform, "account": row.account, "title": row.title,
            "posts": row.n_posts, "posted": row.posted_count, "approved": row.approved,
            "when": row.when.isoformat() if row.when else None, "attempts": row.attempts,
            "unknown_post": None if row.unknown_index is None else row.unknown_index + 1, "note": row.note,
            "path": row.path, "revision": row.revision, "article": row.article_id,
            "claim": claim_json(row.owner, row.claimed_at, row.inflight_index) if row.state == "publishing" else None}


def claim_json(owner: str | None, claimed_at: dt.datetime | None, inflight_index: int | None) -> dict[str, Any]:
    from publisher.queue.owner import describe_owner, owner_status

    return {"owner": owner, "by": describe_owner(owner), "since": claimed_at.isoformat() if claimed_at else None,
            "status": owner_status(owner), "post_in_flight": None if inflight_index is None else inflight_index + 1}


def claim_text(pub_id: int, owner: str | None, claimed_at: dt.datetime | None, inflight_index: int | None,
               n_posts: int, zone: Zone) -> str:
    """Who holds a claim, since when, and what to do when nobody can tell whether it still runs."""
    from publisher.queue.owner import describe_owner, owner_status

    text = f"claimed by {describe_owner(owner)} since {zone.show(claimed_at)}"
    if inflight_index is not None:
        text += f", post {inflight_index + 1} of {n_posts} in flight"
    status = owner_status(owner)
    if status == "alive":
        text += " (running)"
    elif status == "dead":
        text += " (gone: settled at the next look)"
    else:
        text += (" (another machine or container: cannot be checked from here; if that process is gone, "
                 f"`publisher resolve {pub_id} --release-claim`)")
    return text


@click.command("queue")
@click.option("--state", "states", multiple=True, callback=_states, metavar="STATE",
              help=f"Only this state (repeatable): {', '.join(STATES)}.")
@click.option("--platform", type=click.Choice(tuple(PLATFORMS), case_sensitive=False), help="Only this platform.")
@click.option("--all", "show_all", is_flag=True, help="Include posted and rejected publications.")
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help=f"Show at most N rows (default {DEFAULT_LIMIT} in the table, all in JSON; 0 for all).")
@json_option
def queue(states: tuple[str, ...], platform: str | None, show_all: bool, limit: int | None, as_json: bool) -> None:
    """List publications: id, state, platform, posts sent, time, title.

    Without --state it shows what still needs doing or watching: everything but posted and
    rejected (--all shows those too), oldest first. Publications left `publishing` by a
    process that died are settled first: a post that was on the wire becomes needs_attention.
    """
    outbox = open_outbox(read_only_ok=True)  # reading works on a read-only filesystem
    if not outbox.read_only:
        outbox.recover()
    zone = time_zone(strict=False)
    if not states and not show_all:
        states = tuple(s for s in STATES if s not in ("posted", "rejected"))
    if limit is None:
        limit = 0 if as_json else DEFAULT_LIMIT
    rows = outbox.rows(states or None, platform=platform, limit=limit + 1 if limit else None)
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if limit else rows
    counts = outbox.counts(platform)
    if as_json:
        from publisher.cli.tables import posted_info

        done = posted_info(outbox, [r.id for r in rows if r.posted_count])
        click.echo(json.dumps({"publications": [{**row_json(r), "last_posted_at": done[r.id][0].isoformat()
                                                 if r.id in done else None, "link": done.get(r.id, (0, None))[1]}
                                                for r in rows], "counts": counts}, ensure_ascii=False))
        return
    from publisher.cli.tables import render_queue

    render_queue(outbox, rows, zone, counts=counts, more=more, limit=limit, claim_text=claim_text)


# --- show ------------------------------------------------------------------------------------


@click.command("show")
@click.argument("publication_id", type=int)
@json_option
def show(publication_id: int, as_json: bool) -> None:
    """Show one publication: its thread, its source article and its history."""
    outbox = open_outbox(read_only_ok=True)
    if not outbox.read_only:
        outbox.recover()
    pub = outbox.get(publication_id)
    thread = outbox.thread(publication_id)
    article = outbox.article(pub.article_id)
    history = outbox.history(publication_id)
    account = outbox.account_state(pub.platform, pub.account)
    zone = time_zone(strict=False)
    if as_json:
        click.echo(json.dumps({
            "id": pub.id, "state": pub.state, "platform": pub.platform, "account": pub.account,
            "approved": pub.approved, "content_hash": pub.content_hash, "approved_hash": pub.approved_hash,
            "scheduled_at": pub.scheduled_at.isoformat() if pub.scheduled_at else None,
            "next_try_at": pub.next_try_at.isoformat() if pub.next_try_at else None,
            "attempts": pub.attempts, "posted": pub.posted_count, "unknown_post": pub.unknown_post, "note": pub.note,
            "claim": claim_json(pub.owner, pub.claimed_at, pub.inflight_index) if pub.state == "publishing" else None,
            "article": {"id": article.id, "path": article.path, "revision": article.revision,
                        "source_hash": article.source_hash, "title": article.title,
                        "english_title": article.english_title, "author": article.author, "date": article.date,
                        "url": article.url, "publication": article.publication,
                        "translation": article.translation_model},
            "posts": [{"index": p.index, "text": p.text, "role": p.role, "length": p.length, "limit": p.limit,
                       "post_id": p.post_id, "url": p.url, "posted_at": p.posted_at.isoformat() if p.posted_at else None,
                       "settled_by": p.settled_by} for p in thread.posts],
            **_media_json(outbox, publication_id, thread),
            "history": [{"at": e.at.isoformat(), "from": e.from_state, "to": e.to_state,
                         "post": None if e.post_index is None else e.post_index + 1, "reason": e.reason}
                        for e in history],
        }, ensure_ascii=False, indent=2))
        return
    from publisher.cli.truth import account_label

    out = [f"Publication {pub.id} · {account_label(pub.platform, pub.account)} · {pub.state}"]
    if pub.note:
        out.append(f"  {pub.note}")
    if pub.state == "publishing":
        out.append(f"  {claim_text(pub.id, pub.owner, pub.claimed_at, pub.inflight_index, pub.n_posts, zone)}")
    if account.blocked_reason:
        out.append(f"  account stopped: {account.blocked_reason}")
    from publisher.publishing.corrections import describe

    correction = describe(outbox, pub.id)
    if correction:
        out.append(f"  {correction}")
    if pub.approved:
        out.append(f"  approved {zone.show(pub.approved_at)} for this exact content ({pub.content_hash[:12]})")
    elif pub.approved_hash:
        out.append("  approval withdrawn: the content changed after it was approved")
    else:
        out.append("  not approved")
    if pub.scheduled_at:
        out.append(f"  scheduled for {zone.show(pub.scheduled_at)}")
    if pub.next_try_at:
        out.append(f"  next try {zone.show(pub.next_try_at)} (attempt {pub.attempts + 1})")
    out.append("")
    out.append(f"Source: {article.path} (article {article.id}, revision {article.revision}, "
               f"sha256 {article.source_hash[:12]})")
    out.append(f"  title:   {article.title}")
    if article.english_title:
        out.append(f"  English: {article.english_title}")
    credits = " · ".join(x for x in (article.author, article.date, article.publication, article.url) if x)
    if credits:
        out.append(f"  credits: {credits}")
    if article.translation_model:
        out.append(f"  translation: {article.translation_model}")
    out.append("")
    out.append(f"Thread ({pub.n_posts} posts, {pub.posted_count} posted):")
    for p in thread.posts:
        if p.posted:
            status = f"posted {p.post_id or '(id unknown)'}" + (f" {p.url}" if p.url else "")
            if p.settled_by == "person":
                status += " (settled by hand)"
        elif pub.unknown_index == p.index:
            status = "OUTCOME UNKNOWN"
        elif pub.state == "publishing" and pub.inflight_index == p.index:
            status = "IN FLIGHT" + (f" since {zone.show(pub.inflight_since)}" if pub.inflight_since else "")
        else:
            status = "not posted"
        out.append(f"  [{p.index + 1}/{pub.n_posts}] {p.role} · {p.length}/{p.limit} · {status}")
        out.extend(f"      {line}" for line in p.text.splitlines())
        out.extend(media_lines(outbox, publication_id, thread, p.index))
    out.append("")
    out.append("History:")
    for e in history:
        move = e.to_state if e.from_state in (None, e.to_state) else f"{e.from_state} → {e.to_state}"
        out.append(f"  {zone.show(e.at)}  {move:<28} {e.reason}")
    out.append("")
    out.append(f"Times in {zone.label}.")
    click.echo("\n".join(out))


def _media_json(outbox: "Outbox", publication_id: int, thread: Any) -> dict:
    from publisher.queue.media import uploads_of

    card = thread.card
    return {"images": [{"post": m.post + 1, "source": m.source, "sha256": m.sha256, "mime": m.mime, "width": m.width,
                        "height": m.height, "bytes_before": m.original_size, "bytes_after": m.size,
                        "animated": m.animated, "alt": m.alt, "credit": m.credit} for m in thread.media],
            "card": ({"post": card.post + 1, "uri": card.uri, "title": card.title, "description": card.description,
                      "thumb": card.thumb.sha256 if card.thumb else None} if card else None),
            "uploads": uploads_of(outbox.db, publication_id)}
