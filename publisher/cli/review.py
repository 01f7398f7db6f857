"""The commands that decide about a thread: ``edit`` (in $EDITOR, or its images), ``approve``,
``reject`` and ``retry``."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import click

from publisher.cli._outbox import at_option, open_outbox, time_zone

if TYPE_CHECKING:
    from publisher.queue.records import EditedPost, Publication

EDIT_HEADER = """\
#| publisher: publication {id} on {platform}, {n} posts. Lines starting with "#|" are ignored.
#| Each post starts with a "=== post N (role) ===" line; delete a block to drop a post, add one to add
#| a point. The role says what a post is: keep the attribution post last, with its link and the
#| machine-translation note. "n/m" numbers are updated when the number of posts changes.
#| Saving withdraws any approval; posts already on {platform} cannot be changed.
"""
_POST_MARK = re.compile(r"^=== post (\d+)(?:\s*\(([^)]*)\))?.*===\s*$")


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
    from publisher.queue.records import EditedPost

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
    from publisher.queue.records import EditedPost

    outbox = open_outbox()
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

    schedule = load_schedule_if_present()
    from publisher.settings import thread_options

    return thread_options(schedule).max_posts_for(platform) if schedule else None


# --- approve / reject / retry -------------------------------------------------------------


@click.command("approve")
@click.argument("publication_id", type=int, required=False)
@click.option("--article", "article", metavar="ID_OR_PATH",
              help="Approve every draft of this article's latest revision, on every platform, at once "
                   "(the article id shown by `show`, or the article's file).")
@click.option("--at", "when", metavar="TIME", callback=at_option,
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
    outbox = open_outbox()
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
    pub = open_outbox().reject(publication_id, reason)
    click.echo(f"Rejected {pub.id}.")


@click.command("retry")
@click.argument("publication_id", type=int)
def retry(publication_id: int) -> None:
    """Put a failed publication back in line now (not one whose outcome is unknown: resolve that)."""
    outbox = open_outbox()
    pub = outbox.retry(publication_id)
    account = outbox.account_state(pub.platform, pub.account)
    click.echo(f"{pub.id} is {pub.state}: {pub.note}")
    if account.blocked_reason:
        click.echo(f"note: the {pub.platform} account is stopped ({account.blocked_reason})", err=True)
