"""Publish one approved thread to a platform, exactly once, resuming where it stopped.

:func:`publish_publication` is the only code that calls :meth:`Platform.post`. For each post
not yet on the platform, in order:

0. upload its images (or reuse the ids an interrupted attempt stored), storing each media id
   (committed) before going on — an upload is invisible until a post uses it, so uploading
   again after a crash can never show anything twice;
1. mark it in flight (committed) — BEFORE the request, so a crash mid-call is found later;
2. send it, as a reply to the previous post (``root`` is the first post);
3. store the returned id and clear the mark in one transaction, or map the failure to the
   next state (:func:`publisher.publishing.failures.record_failure`) and stop.

A thread that stopped halfway resumes at the first post not yet posted, replying to the last
posted id. Nothing is ever sent whose previous attempt has an unknown outcome: those wait in
``needs_attention`` for a person (:meth:`Outbox.resolve`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from publisher.clock import utcnow
from publisher.errors import StoreError
from publisher.media.upload import attachments_for
from publisher.platforms.base import Platform, PostFailed, PostRef, Rejected
from publisher.publishing.failures import record_failure
from publisher.queue.media import forget_uploads
from publisher.queue.outbox import Outbox
from publisher.queue.records import Publication, StoredPost


@dataclass(frozen=True)
class PublishResult:
    publication: Publication
    """The publication after this run (``posted``, or where it stopped and why in ``note``)."""
    sent: tuple[PostRef, ...]
    """Posts that went out during this run, in order."""
    error: PostFailed | None = None
    """The classified failure that stopped it, if any."""

    @property
    def complete(self) -> bool:
        return self.publication.state == "posted"


def idempotency_key(publication: Publication, index: int) -> str:
    """Stable for one post of one publication's content; platforms that honour keys dedupe on it."""
    return f"publisher-{publication.id}-{index}-{publication.content_hash[:16]}"


def publish_publication(outbox: Outbox, publication_id: int, platform: Platform, *,
                        now: dt.datetime | None = None,
                        clock: Callable[[], dt.datetime] | None = None,
                        on_post: Callable[[StoredPost, PostRef], None] | None = None) -> PublishResult:
    """Post the rest of publication ``publication_id`` to ``platform``.

    Claims the publication first unless this process already holds it (the daemon claims
    with :meth:`Outbox.claim` first; :meth:`Outbox.claim_next` also works). ``now`` fixes the time of every step (tests); otherwise
    ``clock`` (default: the system clock) is read at each step. ``on_post`` is called after
    each post is stored. Classified failures end the run and are returned in ``error``;
    anything else is a bug: the post in flight goes to ``needs_attention`` and the exception
    propagates.
    """
    if now is not None:
        fixed = now
        clock = lambda: fixed  # noqa: E731
    clock = clock or utcnow
    pub = outbox.get(publication_id)
    if platform.name not in (pub.platform, "dry-run"):
        raise StoreError(f"publication {publication_id} is for {pub.platform}, not {platform.name}")
    pub = outbox.claim(publication_id, clock())
    thread = outbox.thread(publication_id)
    refs = outbox.posted_refs(publication_id)
    from publisher.publishing.corrections import anchor

    base = anchor(outbox, publication_id)  # a correction replies to the thread it corrects
    sent: list[PostRef] = []
    for post in thread.posts[pub.posted_count:]:
        index = post.index
        reply_to = refs[index - 1] if index > 0 else (base.last if base else None)
        root = base.root if base else (refs[0] if refs else None)
        if index > 0 and (reply_to is None or not reply_to.id):
            outbox.release(publication_id, f"post {index} has no known id to reply to", now=clock())
            raise StoreError(f"publication {publication_id}: post {index} has no known id; cannot continue the "
                             "reply chain")
        try:  # images first: their ids are stored before the post that uses them is sent
            attached = attachments_for(outbox, publication_id, thread, index, platform, clock) \
                if thread.media or thread.card else {}
        except PostFailed as failure:  # nothing was posted: the post fails as it would have
            outbox.begin_post(publication_id, index, now=clock())
            after = record_failure(outbox, publication_id, index, failure, now=clock())
            return PublishResult(publication=after, sent=tuple(sent), error=failure)
        except Exception as exc:
            outbox.release(publication_id, f"uploading the images of post {index + 1} failed: "
                                           f"{type(exc).__name__}: {exc}", now=clock())
            raise
        outbox.begin_post(publication_id, index, now=clock())
        try:
            ref = platform.post(post.text, reply_to=reply_to, root=root, idempotency_key=idempotency_key(pub, index),
                                **attached)
        except PostFailed as failure:
            if attached and isinstance(failure, Rejected):  # perhaps the media expired early: upload anew next time
                forget_uploads(outbox, publication_id, index, clock())
            after = record_failure(outbox, publication_id, index, failure, now=clock())
            return PublishResult(publication=after, sent=tuple(sent), error=failure)
        except BaseException as exc:
            record_failure(outbox, publication_id, index, exc, now=clock())
            raise
        try:
            outbox.record_post(publication_id, index, ref, now=clock())
        except Exception as exc:
            raise StoreError(f"publication {publication_id}: post {index + 1} went out as {ref.id} but could not be "
                             f"recorded ({exc}); it will show as needs_attention: resolve it with --posted "
                             f"--post-id {ref.id}") from exc
        refs.append(ref)
        sent.append(ref)
        if on_post is not None:
            on_post(post, ref)
    return PublishResult(publication=outbox.get(publication_id), sent=tuple(sent))


def plan(outbox: Outbox, publication_id: int) -> list[StoredPost]:
    """The posts a publish would send now, in order (what ``publish --dry-run`` shows)."""
    pub = outbox.get(publication_id)
    return list(outbox.thread(publication_id).posts[pub.posted_count:])


__all__ = ["PublishResult", "publish_publication", "plan", "idempotency_key"]


# --- the dry run: the reply chain a publish would make now, posting nothing ----------------------


@dataclass(frozen=True)
class DryStep:
    """One post of a dry run: what it replies to (None: it starts a new thread) and the id it gets."""

    post: StoredPost
    reply_to: PostRef | None
    ref: PostRef


@dataclass(frozen=True)
class DryRun:
    """What ``publish --dry-run`` shows: the posts a publish would send now, in order, each with the
    post it replies to, as :func:`publish_publication` would chain them (a correction hangs under
    the thread it corrects); nothing is posted or changed."""

    publication: Publication
    steps: tuple[DryStep, ...]
    """Empty: nothing would be posted (the thread is posted, or has no post left)."""
    correction: str | None = None
    """``a correction of publication N: ...`` when it corrects a posted thread."""


def dry_run_chain(outbox: Outbox, publication_id: int) -> DryRun:
    """The reply chain a publish of ``publication_id`` would make now, through a
    :class:`~publisher.platforms.dryrun.DryRunPlatform` (ids ``dry-run-1``...)."""
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publishing.corrections import anchor, describe

    pub = outbox.get(publication_id)
    posts = plan(outbox, publication_id)
    if pub.state == "posted" or not posts:
        return DryRun(pub, ())
    refs = outbox.posted_refs(publication_id)
    dry = DryRunPlatform()
    base = anchor(outbox, publication_id)
    last: PostRef | None = refs[-1] if refs else (base.last if base else None)
    root: PostRef | None = base.root if base else (refs[0] if refs else None)
    correction = describe(outbox, pub.id) if base is not None else None
    steps = []
    for post in posts:
        ref = dry.post(post.text, reply_to=last, root=root, idempotency_key=idempotency_key(pub, post.index))
        steps.append(DryStep(post, last, ref))
        root = root or ref
        last = ref
    return DryRun(pub, tuple(steps), correction)


__all__ += ["DryRun", "DryStep", "dry_run_chain"]
