"""The queue commands: list, show, edit, approve, reject, publish, retry, resolve.

Each opens the outbox (``PUBLISHER_DB``), calls one library function and prints the result.
None of them imports tweepy except ``publish`` without ``--dry-run``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from publisher.queue.schema import STATES
from publisher.platforms.registry import NAMES as PLATFORMS
from publisher.cli._common import json_option

if TYPE_CHECKING:
    from publisher.queue.outbox import EditedPost, Outbox, Publication, QueueRow

DEFAULT_LIMIT = 100
EDIT_HEADER = """\
#| publisher: publication {id} on {platform}, {n} posts. Lines starting with "#|" are ignored.
#| Each post starts with a "=== post N (role) ===" line; delete a block to drop a post, add one to add
#| a point. The role says what a post is: keep the attribution post last, with its link and the
#| machine-translation note. "n/m" numbers are updated when the number of posts changes.
#| Saving withdraws any approval; posts already on {platform} cannot be changed.
"""
_POST_MARK = re.compile(r"^=== post (\d+)(?:\s*\(([^)]*)\))?.*===\s*$")


def _open(read_only_ok: bool = False) -> "Outbox":
    from publisher.queue.outbox import Outbox

    return Outbox.open(read_only_ok=read_only_ok)


@dataclass(frozen=True)
class Zone:
    """The zone the queue commands read and show times in: schedule.yaml's when there is one
    (the zone `publisher run` and `publisher schedule` use), else this machine's."""

    tz: dt.tzinfo | None
    """None: this machine's zone."""
    name: str
    source: str
    """Where the zone comes from: the schedule file, or "this machine"."""

    def show(self, value: dt.datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if value else "-"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.source})"

    def instant(self, naive: dt.datetime) -> dt.datetime:
        """A wall-clock time in this zone as an aware instant (a time skipped by a DST jump
        becomes the first valid instant after it; a time shown twice, the first one)."""
        if self.tz is None:
            return naive.astimezone()
        from publisher.schedule.slots import resolve_local

        return resolve_local(naive.date(), naive.time(), self.tz).at


def time_zone(strict: bool = True) -> Zone:
    """schedule.yaml's zone when the file exists (an invalid file is an error, or with
    ``strict=False`` a warning and this machine's zone), else this machine's zone."""
    from publisher.config import schedule_path

    path = schedule_path()
    if path.is_file():  # publisher.schedule (pydantic) is only imported when there is a schedule
        from publisher.errors import ConfigError
        from publisher.schedule.config import load_schedule_if_present

        try:
            schedule = load_schedule_if_present(path)
        except ConfigError as exc:
            if strict:
                raise
            click.echo(f"warning: {str(exc).splitlines()[0]} (times shown in this machine's zone)", err=True)
            schedule = None
        if schedule is not None:
            return Zone(tz=schedule.zone, name=schedule.timezone, source=str(path))
    local = dt.datetime.now().astimezone()
    return Zone(tz=None, name=local.tzname() or "local time", source="this machine's zone")


def _states(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        state = value.replace("-", "_").lower()
        if state not in STATES:
            raise click.BadParameter(f"{value!r} is not a state; states are: {', '.join(STATES)}")
        out.append(state)
    return tuple(out)


def parse_when(text: str, now: dt.datetime | None = None, zone: Zone | None = None) -> dt.datetime:
    """A time given on the command line, as an aware datetime (UTC).

    Accepts ISO 8601 (``2024-06-14T08:00``, ``2024-06-14 08:00+08:00``, ``...Z``), a time of
    day (``08:30``: the next time the clock shows it) and offsets from now (``+90m``, ``+2h``,
    ``+1d``). Times without a zone are in ``zone`` (default: this machine's). Anything else,
    an impossible time (``25:00``) or one out of range, is a :class:`click.BadParameter`.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    zone = zone or Zone(tz=None, name="local time", source="this machine's zone")
    raw = text.strip()
    try:
        rel = re.fullmatch(r"\+(\d+)\s*([smhd])", raw)
        if rel:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[rel.group(2)]
            return (now + dt.timedelta(**{unit: int(rel.group(1))})).astimezone(dt.timezone.utc)
        clock = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
            if hour > 23 or minute > 59:
                raise click.BadParameter(f"{text!r} is not a time of day (00:00 to 23:59)")
            today = now.astimezone(zone.tz).date()
            for day in (today, today + dt.timedelta(days=1), today + dt.timedelta(days=2)):
                when = zone.instant(dt.datetime.combine(day, dt.time(hour, minute)))
                if when > now:
                    return when.astimezone(dt.timezone.utc)
            raise click.BadParameter(f"{text!r}: no such time in the next days")  # pragma: no cover
        try:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a time; use 2024-06-14T08:00, 08:00 or +2h") from None
        return (zone.instant(when) if when.tzinfo is None else when).astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):  # beyond year 1..9999, a timedelta too large
        raise click.BadParameter(f"{text!r} is out of range; use 2024-06-14T08:00, 08:00 or +2h") from None


def _at_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    """--at TIME, read in schedule.yaml's zone (else this machine's)."""
    return parse_when(value, zone=time_zone()) if value is not None else None


# --- queue -----------------------------------------------------------------------------------


def row_json(row: "QueueRow") -> dict[str, Any]:
    return {"id": row.id, "state": row.state, "platform": row.platform, "account": row.account, "title": row.title,
            "posts": row.n_posts, "posted": row.posted_count, "approved": row.approved,
            "when": row.when.isoformat() if row.when else None, "attempts": row.attempts,
            "unknown_post": None if row.unknown_index is None else row.unknown_index + 1, "note": row.note,
            "path": row.path, "revision": row.revision, "article": row.article_id,
            "claim": claim_json(row.owner, row.claimed_at, row.inflight_index) if row.state == "publishing" else None}


def claim_json(owner: str | None, claimed_at: dt.datetime | None, inflight_index: int | None) -> dict[str, Any]:
    from publisher.queue.outbox import describe_owner, owner_status

    return {"owner": owner, "by": describe_owner(owner), "since": claimed_at.isoformat() if claimed_at else None,
            "status": owner_status(owner), "post_in_flight": None if inflight_index is None else inflight_index + 1}


def claim_text(pub_id: int, owner: str | None, claimed_at: dt.datetime | None, inflight_index: int | None,
               n_posts: int, zone: Zone) -> str:
    """Who holds a claim, since when, and what to do when nobody can tell whether it still runs."""
    from publisher.queue.outbox import describe_owner, owner_status

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
    outbox = _open(read_only_ok=True)  # reading works on a read-only filesystem
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
    outbox = _open(read_only_ok=True)
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
        out.extend(_media_lines(outbox, publication_id, thread, p.index))
    out.append("")
    out.append("History:")
    for e in history:
        move = e.to_state if e.from_state in (None, e.to_state) else f"{e.from_state} → {e.to_state}"
        out.append(f"  {zone.show(e.at)}  {move:<28} {e.reason}")
    out.append("")
    out.append(f"Times in {zone.label}.")
    click.echo("\n".join(out))


def _media_lines(outbox: "Outbox", publication_id: int, thread: Any, index: int) -> list[str]:
    """The images (and card) of one post, and their uploads, for `show`."""
    from publisher.queue.media import uploads_of
    from publisher.media.upload import describe

    images = [m for m in thread.media if m.post == index]
    card = thread.card if thread.card is not None and thread.card.post == index else None
    if not images and card is None:
        return []
    lines = [f"      ▸ {line.strip()}" if not line.startswith(" ") else f"        {line.strip()}"
             for line in describe(images, card)]
    for u in uploads_of(outbox.db, publication_id):
        if u["post"] == index + 1:
            lines.append(f"        uploaded as {u['media_id']} at {u['uploaded_at']}"
                         + (f" (kept by the platform until {u['expires_at']})" if u["expires_at"] else ""))
    return lines


def _media_json(outbox: "Outbox", publication_id: int, thread: Any) -> dict:
    from publisher.queue.media import uploads_of

    card = thread.card
    return {"images": [{"post": m.post + 1, "source": m.source, "sha256": m.sha256, "mime": m.mime, "width": m.width,
                        "height": m.height, "bytes_before": m.original_size, "bytes_after": m.size,
                        "animated": m.animated, "alt": m.alt, "credit": m.credit} for m in thread.media],
            "card": ({"post": card.post + 1, "uri": card.uri, "title": card.title, "description": card.description,
                      "thumb": card.thumb.sha256 if card.thumb else None} if card else None),
            "uploads": uploads_of(outbox.db, publication_id)}


# --- edit ------------------------------------------------------------------------------------


def edit_text(pub: "Publication", posts: "list[EditedPost]", errors: str | None = None) -> str:
    head = EDIT_HEADER.format(id=pub.id, platform=pub.platform, n=len(posts))
    if errors:
        head += "".join(f"#| ERROR: {line}\n" for line in errors.split("; "))
    blocks = [f"=== post {i + 1} ({post.role}) ===\n{post.text}\n" for i, post in enumerate(posts)]
    return head + "\n".join(blocks)


def parse_edit(text: str, before: "list[EditedPost]") -> "list[EditedPost]":
    """The posts of an edited file: blocks after "=== post N (role) ===" lines, "#|" lines dropped.

    A post's role comes from its marker line, not from its place, so deleting a post never
    turns another into the attribution: "(role)" when the marker has one, else the role of
    post N of ``before`` (the posts as they were written to the file), else a point.
    """
    from publisher.errors import StoreError
    from publisher.queue.outbox import EditedPost

    marks: list[str] = []
    bodies: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("#|"):
            continue
        mark = _POST_MARK.match(line)
        if mark:
            number, role = int(mark.group(1)), (mark.group(2) or "").strip().lower()
            if not role:
                role = before[number - 1].role if 0 < number <= len(before) else "point"
            marks.append(role)
            bodies.append([])
        elif bodies:
            bodies[-1].append(line)
        elif line.strip():
            raise StoreError("text before the first \"=== post 1 ===\" line; nothing saved")
    return [EditedPost(text="\n".join(lines).strip(), role=role) for role, lines in zip(marks, bodies)]


def _numbered(values: tuple[str, ...], option: str) -> dict[int, str]:
    out = {}
    for value in values:
        number, sep, rest = value.partition("=")
        if not sep or not number.strip().isdigit() or not rest.strip():
            raise click.BadParameter(f"{value!r}: expected POST=VALUE, e.g. 1=picture.png", param_hint=option)
        out[int(number)] = rest.strip()
    return out


@click.command("edit")
@click.argument("publication_id", type=int)
@click.option("--drop-image", "drop_images", multiple=True, type=click.IntRange(min=1), metavar="POST",
              help="Post no image on post POST (its credit line goes too). Repeatable.")
@click.option("--image", "images", multiple=True, metavar="POST=FILE_OR_URL",
              help="Put this image on post POST instead of its images (fetched now, fitted to the platform).")
@click.option("--credit", metavar="TEXT", help="With --image: whose image it is (added to the post and the alt text).")
@click.option("--alt", "alts", multiple=True, metavar="POST=TEXT", help="New alt text for the images of post POST.")
def edit(publication_id: int, drop_images: tuple[int, ...], images: tuple[str, ...], credit: str | None,
         alts: tuple[str, ...]) -> None:
    """Edit a thread in $EDITOR; saving re-checks lengths and withdraws any approval.

    Posts are separated by "=== post N ===" lines. When a post is too long the editor opens
    again with the problem noted at the top; saving the same text again gives up without
    changing anything. With --drop-image, --image or --alt the images are edited instead
    (no editor opens); that withdraws the approval too.
    """
    from publisher.errors import ConfigError, StoreError
    from publisher.queue.outbox import EditedPost

    outbox = _open()
    if drop_images or images or alts:
        from publisher.media.edit import edit_images

        if credit and not images:
            raise click.UsageError("--credit goes with --image")
        pub = outbox.get(publication_id)
        after = edit_images(outbox, publication_id, drop=drop_images, add=_numbered(images, "--image"),
                            alt=_numbered(alts, "--alt"), credit=credit)
        if after.thread_id == pub.thread_id:
            click.echo("No changes.")
            return
        withdrawn = " Its approval was withdrawn: approve it again." if pub.approved_hash else ""
        click.echo(f"Saved the images of publication {publication_id}; it is now a draft.{withdrawn}")
        from publisher.media.upload import describe

        stored = outbox.thread(publication_id)
        for line in describe(stored.media, stored.card):
            click.echo(f"  {line}")
        return
    pub = outbox.get(publication_id)
    thread = outbox.thread(publication_id)
    max_posts = _max_posts(pub.platform)
    posts = [EditedPost(text=p.text, role=p.role) for p in thread.posts]
    errors = None
    previous = None
    while True:
        try:
            edited = click.edit(edit_text(pub, posts, errors), extension=".txt", require_save=True)
        except click.ClickException as exc:  # the editor could not be started, or exited with an error
            raise ConfigError(f"{exc.format_message()}: set $VISUAL or $EDITOR to an editor that works; "
                              f"publication {publication_id} not saved") from None
        if edited is None:
            if errors:
                raise StoreError(f"publication {publication_id} not saved: {errors}")
            click.echo("No changes.")
            return
        new_posts = parse_edit(edited, posts)
        if new_posts == previous:
            raise StoreError(f"publication {publication_id} not saved: {errors}")
        previous = new_posts
        try:
            from publisher.publishing.editing import edit_publication

            after = edit_publication(outbox, publication_id, new_posts, max_posts=max_posts)
        except StoreError as exc:
            errors = str(exc).split(": ", 1)[-1]
            posts = new_posts
            continue
        break
    if after.thread_id == pub.thread_id:
        click.echo("No changes.")
        return
    saved = [p.text for p in outbox.thread(publication_id).posts]
    renumbered = " Its n/m numbers were updated." if saved != [p.text for p in new_posts] else ""
    withdrawn = " Its approval was withdrawn: approve it again." if pub.approved_hash else ""
    click.echo(f"Saved publication {publication_id} ({after.n_posts} posts); it is now a draft.{renumbered}{withdrawn}")


def _max_posts(platform: str) -> int | None:
    """The most posts a thread may have: schedule.yaml's setting when there is one."""
    from publisher.config import schedule_path

    if not schedule_path().is_file():
        return None
    from publisher.schedule.config import load_schedule_if_present

    from publisher.app import thread_options

    schedule = load_schedule_if_present()
    return thread_options(schedule).max_posts_for(platform) if schedule else None


# --- approve / reject / retry / resolve ------------------------------------------------------


@click.command("approve")
@click.argument("publication_id", type=int, required=False)
@click.option("--article", "article", metavar="ID_OR_PATH",
              help="Approve every draft of this article's latest revision, on every platform, at once "
                   "(the article id shown by `show`, or the article's file).")
@click.option("--at", "when", metavar="TIME", callback=_at_option,
              help="Post at this time (2024-06-14T08:00, 08:00, +2h; in schedule.yaml's zone, else this "
                   "machine's, unless a zone is given) instead of the next slot.")
def approve(publication_id: int | None, article: str | None, when: dt.datetime | None) -> None:
    """Approve a thread exactly as it is now; editing it later withdraws the approval.

    With --article, approve the drafts of one article on all its platforms in one go (all or
    none: if one cannot be approved, none is).
    """
    from publisher.errors import StoreError

    if (publication_id is None) == (article is None):
        raise click.UsageError("give a publication id, or --article ID_OR_PATH (not both)")
    reason = None
    if when is not None:
        zone = time_zone()
        reason = f"approved for {zone.show(when)} {zone.name}"
        if when < dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1):
            raise StoreError(f"{zone.show(when)} {zone.name} is in the past")
    outbox = _open()
    from publisher.cli.truth import approval_lines, bound_revision

    verb = "Scheduled" if when else "Approved"
    if article is not None:
        record = bound_revision(outbox, article)  # an id approves that revision only
        what = f"article {record.id} ({record.path}, revision {record.revision})"
        approved = outbox.approve_article(record.id, when, reason=reason)
        if not approved:
            states = ", ".join(f"{p.id} ({p.platform}) is {p.state}" for p in outbox.publications_of(record.id))
            raise StoreError(f"{what} has no drafts to approve{': ' + states if states else ''}")
        listed = ", ".join(f"{p.id} ({p.platform}, {p.n_posts} posts)" for p in approved)
        click.echo(f"{verb} {len(approved)} publication{'s' if len(approved) != 1 else ''} of {what}: {listed}.")
        for line in approval_lines(outbox, approved, verb=verb):
            click.echo(f"  {line}")
        return
    pub = outbox.approve(publication_id, when, reason=reason)  # type: ignore[arg-type]
    for line in approval_lines(outbox, [pub], verb=verb):
        click.echo(line)
    waiting = [p for p in outbox.publications_of(pub.article_id) if p.id != pub.id and p.state == "draft"]
    if waiting:
        listed = ", ".join(f"{p.id} ({p.platform})" for p in waiting)
        click.echo(f"Still waiting for approval on other platforms: {listed}; "
                   f"`publisher approve --article {pub.article_id}` approves them all.")


@click.command("reject")
@click.argument("publication_id", type=int)
@click.option("--reason", help="Why, for the history.")
def reject(publication_id: int, reason: str | None) -> None:
    """Never post this thread (what is already posted of it stays posted)."""
    pub = _open().reject(publication_id, reason)
    click.echo(f"Rejected {pub.id}.")


@click.command("retry")
@click.argument("publication_id", type=int)
def retry(publication_id: int) -> None:
    """Put a failed publication back in line now (not one whose outcome is unknown: resolve that)."""
    outbox = _open()
    pub = outbox.retry(publication_id)
    account = outbox.account_state(pub.platform, pub.account)
    click.echo(f"{pub.id} is {pub.state}: {pub.note}")
    if account.blocked_reason:
        click.echo(f"note: the {pub.platform} account is stopped ({account.blocked_reason})", err=True)


@click.command("resolve")
@click.argument("publication_id", type=int)
@click.option("--posted/--not-posted", "posted", default=None,
              help="Whether the post whose outcome was unknown is on the platform (look at the account).")
@click.option("--post-id", metavar="ID_OR_LINK",
              help="With --posted: the post's id or link, so that the rest of the thread replies to it.")
@click.option("--release-claim", is_flag=True,
              help="Take back a `publishing` claim held by a process that is gone or cannot be checked from "
                   "here (another machine or container). A post that was in flight becomes needs_attention "
                   "(settle it next with --posted/--not-posted); otherwise the thread goes back in line.")
@click.option("--check", "check_platform", is_flag=True,
              help="Ask the platform whether the post is there, and settle it accordingly (Bluesky: the record "
                   "under the post's derived key; X and Mastodon: the account's own posts since the attempt). "
                   "When the answer does not settle it, says why and changes nothing.")
def resolve(publication_id: int, posted: bool | None, post_id: str | None, release_claim: bool,
            check_platform: bool = False) -> None:
    """Settle a needs_attention post whose outcome was unknown; the rest of the thread then goes out.

    With --release-claim: free a thread stuck in `publishing` because the process that claimed
    it is gone but cannot be seen from here (for example a re-created container, which has a
    new host name). Refused while that process runs on this machine. Nothing is ever re-sent
    blindly: a post that was in flight must be settled with --posted or --not-posted after.
    """
    from publisher.platforms.registry import spec as platform_spec

    if release_claim:
        if posted is not None or post_id:
            raise click.UsageError("--release-claim goes alone; settle an in-flight post afterwards with "
                                   "--posted or --not-posted")
        outbox = _open()
        outbox.recover()  # a claim of a process that is gone for certain is settled here already
        after = outbox.release_claim(publication_id)
        click.echo(f"{after.id} is {after.state}: {after.note}")
        return
    if check_platform:
        if posted is not None or post_id:
            raise click.UsageError("--check settles the post itself; it goes without --posted/--not-posted")
        _resolve_by_asking(publication_id)
        return
    if posted is None:
        raise click.UsageError("say --posted, --not-posted, --check or --release-claim")
    if post_id and not posted:
        raise click.UsageError("--post-id goes with --posted")
    outbox = _open()
    outbox.recover()
    pub = outbox.get(publication_id)
    ref = None
    if post_id:
        spec = platform_spec(pub.platform)
        ref = spec.parse_post_ref(post_id)
        if ref is None:
            raise click.BadParameter(f"{post_id!r} is not an {spec.title} post id or link", param_hint="--post-id")
        _check_owner(outbox, pub, spec.post_author(post_id) if spec.post_author else None)
    after = outbox.resolve(publication_id, posted, ref)
    click.echo(f"{after.id} is {after.state}: {after.note}")


def _resolve_by_asking(publication_id: int) -> None:
    """``resolve --check``: look the unknown post up on the platform, and settle it from there
    (each adapter's ``find_post``: Bluesky the record under the derived key; X and Mastodon the
    account's own posts since the attempt, see :mod:`publisher.platforms.find`)."""
    from publisher.publishing.corrections import anchor
    from publisher.errors import StoreError
    from publisher.app import configured_platform
    from publisher.platforms.base import CannotTell, PostFailed
    from publisher.publishing.publish import idempotency_key

    outbox = _open()
    outbox.recover()
    pub = outbox.get(publication_id)
    if pub.state != "needs_attention" or pub.unknown_index is None:
        raise StoreError(f"publication {publication_id} has no post whose outcome is unknown (it is {pub.state})")
    index = pub.unknown_index
    label = f"post {index + 1} of {pub.n_posts}"
    by_hand = (f"look at the account and run `publisher resolve {publication_id} --posted --post-id LINK` or "
               "`--not-posted`")
    if pub.inflight_since is None:
        raise StoreError(f"publication {publication_id}: the time of the attempt is not recorded, so {pub.platform} "
                         f"cannot be searched for it; {by_hand}")
    refs = outbox.posted_refs(publication_id)
    base = anchor(outbox, publication_id)
    reply_to = refs[index - 1] if index > 0 else (base.last if base else None)
    platform = configured_platform(pub.platform)
    try:
        found = platform.find_post(outbox.thread(publication_id).posts[index].text, reply_to=reply_to,
                                   since=pub.inflight_since, idempotency_key=idempotency_key(pub, index))
    except PostFailed as exc:
        found = CannotTell(f"could not ask: {exc}")
    if isinstance(found, CannotTell):
        raise StoreError(f"publication {publication_id}: cannot tell whether {label} is on {pub.platform}: "
                         f"{found.reason}; nothing changed ({by_hand})")
    if found is not None:
        after = outbox.resolve(publication_id, True, found)
        click.echo(f"{pub.platform} has {label}: {found.url or found.id}")
    elif pub.platform == "bluesky":  # never written: the retry uses the same record key
        after = outbox.resolve(publication_id, False)
        click.echo(f"{pub.platform} does not have {label}; it will be sent again (under the same record key)")
    else:
        after = outbox.resolve(publication_id, False)
        click.echo(f"{pub.platform} does not have {label} (none of the account's posts since the attempt is it); "
                   "it will be sent again")
    click.echo(f"{after.id} is {after.state}: {after.note}")


def _check_owner(outbox, pub, named: str | None) -> None:
    """Refuse a post link that names another account than the one this thread posts as (known
    from `publisher accounts check`); a post of someone else's thread must never become the
    parent of the rest of ours."""
    if not named:
        return
    state = outbox.account_state(pub.platform, pub.account)
    mine = (state.handle or "").lstrip("@").lower()
    if mine and named.lstrip("@").lower() != mine and not named.startswith("did:"):
        raise click.BadParameter(f"that post belongs to {named}, not to this thread's account {state.handle}",
                                 param_hint="--post-id")


# --- publish ---------------------------------------------------------------------------------


@click.command("publish")
@click.argument("publication_id", type=int)
@click.option("--dry-run", is_flag=True, help="Show what would be posted, in order; post and change nothing.")
@click.option("--ignore-quota", is_flag=True,
              help="Post even when the thread does not fit the account's daily quota or budget left.")
def publish(publication_id: int, dry_run: bool, ignore_quota: bool) -> None:
    """Publish an approved thread now, by hand, as a reply chain; resumes a thread that stopped halfway.

    Refused when the whole rest of the thread does not fit the account's daily quota (or
    daily_budget) left in the rolling 24 hours, unless --ignore-quota. Exit status 0 when the
    whole thread is posted; 1 when it stopped (the reason is printed and the publication is
    failed, rescheduled or needs_attention).
    """
    from publisher.errors import StoreError

    outbox = _open()
    outbox.recover()
    if dry_run:
        _dry_run(outbox, publication_id)
        return
    from publisher.app import configured_platform
    from publisher.publishing.publish import publish_publication

    pub = outbox.get(publication_id)
    from publisher.queue.states import READY, not_ready_message

    if pub.state not in READY:  # publishing: another process holds it

        raise StoreError(not_ready_message(pub))
    from publisher.schedule.budget import manual_problem
    from publisher.cli.truth import current_schedule

    over = manual_problem(current_schedule(), outbox, publication_id)
    if over and not ignore_quota:
        raise StoreError(f"{over}: not posted; wait, or post anyway with --ignore-quota")
    if over:
        click.echo(f"note: {over}; posting anyway (--ignore-quota)", err=True)
    platform = configured_platform(pub.platform)

    def said(post: Any, ref: Any) -> None:
        click.echo(f"posted {post.index + 1}/{pub.n_posts}: {ref.url or ref.id}")

    result = publish_publication(outbox, publication_id, platform, on_post=said)
    after = result.publication
    if result.complete:
        click.echo(f"Publication {after.id} is posted ({after.n_posts} posts).")
        return
    click.echo(f"error: publication {after.id} stopped: {after.state}: {after.note}", err=True)
    raise click.exceptions.Exit(1)


def _dry_run(outbox: "Outbox", publication_id: int) -> None:
    from publisher.platforms.base import PostRef
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publishing.publish import idempotency_key, plan

    pub = outbox.get(publication_id)
    posts = plan(outbox, publication_id)
    if pub.state == "posted" or not posts:
        click.echo(f"Publication {pub.id} is {pub.state}: nothing would be posted.")
        return
    if not pub.approved:
        click.echo(f"note: publication {pub.id} is not approved ({pub.state}); a real publish would refuse.")
    if pub.unknown_index is not None:
        click.echo(f"note: the outcome of post {pub.unknown_index + 1} is unknown; a real publish would refuse "
                   "until it is resolved.")
    refs = outbox.posted_refs(publication_id)
    stored = outbox.thread(publication_id)
    dry = DryRunPlatform()
    from publisher.publishing.corrections import anchor, describe

    base = anchor(outbox, publication_id)
    last: PostRef | None = refs[-1] if refs else (base.last if base else None)
    root: PostRef | None = base.root if base else (refs[0] if refs else None)
    if base is not None:
        click.echo(f"note: publication {pub.id} is {describe(outbox, pub.id)}.")
    click.echo(f"Dry run of publication {pub.id} on {pub.platform}: {len(posts)} of {pub.n_posts} posts would go out.")
    for post in posts:
        ref = dry.post(post.text, reply_to=last, root=root, idempotency_key=idempotency_key(pub, post.index))
        target = f"in reply to {last.id}" if last else "as a new thread"
        click.echo(f"\n[{post.index + 1}/{pub.n_posts}] {post.length}/{post.limit} · {target} → {ref.id}")
        click.echo(post.text)
        for line in _media_lines(outbox, publication_id, stored, post.index):
            click.echo(line)
        root = root or ref
        last = ref
