"""The commands that post: ``publish`` (by hand, or ``--dry-run``) and ``resolve`` (settle a post
whose outcome is unknown, or a claim held by a process that is gone).

None of them imports tweepy except ``publish`` without ``--dry-run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from publisher.cli._outbox import open_outbox

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox


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

    outbox = open_outbox()
    outbox.recover()
    if dry_run:
        _dry_run(outbox, publication_id)
        return
    from publisher.settings import configured_platform
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
        outbox = open_outbox()
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
    outbox = open_outbox()
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
    from publisher.settings import configured_platform
    from publisher.platforms.base import CannotTell, PostFailed
    from publisher.publishing.publish import idempotency_key

    outbox = open_outbox()
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


def _dry_run(outbox: "Outbox", publication_id: int) -> None:
    from publisher.cli._outbox import media_lines
    from publisher.publishing.publish import dry_run_chain

    dry = dry_run_chain(outbox, publication_id)
    pub = dry.publication
    if not dry.steps:
        click.echo(f"Publication {pub.id} is {pub.state}: nothing would be posted.")
        return
    if not pub.approved:
        click.echo(f"note: publication {pub.id} is not approved ({pub.state}); a real publish would refuse.")
    if pub.unknown_index is not None:
        click.echo(f"note: the outcome of post {pub.unknown_index + 1} is unknown; a real publish would refuse "
                   "until it is resolved.")
    stored = outbox.thread(publication_id)
    if dry.correction is not None:
        click.echo(f"note: publication {pub.id} is {dry.correction}.")
    click.echo(f"Dry run of publication {pub.id} on {pub.platform}: {len(dry.steps)} of {pub.n_posts} posts "
               "would go out.")
    for step in dry.steps:
        post = step.post
        target = f"in reply to {step.reply_to.id}" if step.reply_to else "as a new thread"
        click.echo(f"\n[{post.index + 1}/{pub.n_posts}] {post.length}/{post.limit} · {target} → {step.ref.id}")
        click.echo(post.text)
        for line in media_lines(outbox, publication_id, stored, post.index):
            click.echo(line)
