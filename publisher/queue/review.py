"""What a person does to a publication: approve (one, or every draft of an article), reject, retry,
and settle a post whose outcome was unknown (resolve). The edit is
:func:`publisher.publishing.editing.edit_publication`, which stores through
:meth:`publisher.queue.intake.Intake.replace_thread`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from publisher.clock import aware, local_text, ts, utcnow
from publisher.errors import StoreError
from publisher.queue.reads import Reads
from publisher.queue.records import Publication
from publisher.queue.states import (length_problems, post_label, refuse_if_claimed, refuse_if_final,
                                    unknown_outcome_message)

if TYPE_CHECKING:
    from publisher.models import PostRef


class Review(Reads):
    """Transitions people ask for."""

    def approve(self, publication_id: int, at: dt.datetime | None = None, *, now: dt.datetime | None = None,
                reason: str | None = None) -> Publication:
        """Approve the thread as it is now (binding the approval to its content hash).

        Without ``at`` it is ``approved`` and goes out in the next slot the scheduler gives
        it; with ``at`` it is ``scheduled`` for that time. Refused while the outcome of a post
        is unknown, or when a post is over its length limit.
        """
        now = aware(now or utcnow(), "now")
        if at is not None:
            aware(at, "at")
        with self.transaction():
            pub = self.get(publication_id)
            refuse_if_claimed(pub, "approved")
            refuse_if_final(pub, "approved")
            if pub.unknown_index is not None:
                raise StoreError(f"publication {publication_id}: nobody knows whether {post_label(pub.unknown_index, pub.n_posts)} "
                                 f"was posted; settle it first with `publisher resolve {publication_id} --posted|--not-posted`")
            problems = length_problems(self._thread(pub.thread_id))
            if problems:
                raise StoreError(f"publication {publication_id} cannot be approved: {problems}; edit it first")
            self._approve_in_tx(publication_id, at, now, reason)
            return self.get(publication_id)

    def _approve_in_tx(self, pub_id: int, at: dt.datetime | None, now: dt.datetime, reason: str | None) -> None:
        content_hash = self.db.execute("SELECT t.content_hash FROM publications p JOIN threads t ON t.id = p.thread_id "
                                       "WHERE p.id = ?", (pub_id,)).fetchone()[0]
        if at is None:
            self._transition(pub_id, "approved", now, reason or "approved", approved_hash=content_hash,
                             approved_at=ts(now), scheduled_at=None, attempts=0)
        else:
            local = local_text(at)
            self._transition(pub_id, "scheduled", now, reason or f"approved for {local}", approved_hash=content_hash,
                             approved_at=ts(now), scheduled_at=ts(at), attempts=0)

    def approve_article(self, article_id: int, at: dt.datetime | None = None, *,
                        now: dt.datetime | None = None, reason: str | None = None) -> list[Publication]:
        """Approve every draft of one article revision (one approval for all its platforms).

        All or none: when one draft cannot be approved (a post over its limit...), nothing is,
        and the error says which and why. Returns the approved publications ([] when no draft
        was left)."""
        with self.transaction():
            approved = []
            for pub in self.publications_of(article_id):
                if pub.state != "draft":
                    continue
                try:
                    approved.append(self.approve(pub.id, at, now=now, reason=reason))
                except StoreError as exc:
                    raise StoreError(f"{exc}; nothing of article {article_id} was approved") from None
            return approved

    def reject(self, publication_id: int, reason: str | None = None, *, now: dt.datetime | None = None) -> Publication:
        """Never post it (what is already posted of it stays posted)."""
        now = aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            refuse_if_claimed(pub, "rejected")
            refuse_if_final(pub, "rejected")
            why = reason or "rejected"
            if pub.posted_count:
                why += f" (after {pub.posted_count} of {pub.n_posts} posts were posted; the rest will not be)"
            self._transition(publication_id, "rejected", now, why)
            return self.get(publication_id)

    def retry(self, publication_id: int, *, now: dt.datetime | None = None) -> Publication:
        """Put a failed (or permanently refused) publication back in line, now."""
        now = aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            refuse_if_claimed(pub)
            if pub.state not in ("failed", "needs_attention"):
                raise StoreError(f"publication {publication_id} is {pub.state}; only failed or needs_attention "
                                 "publications can be retried")
            if pub.unknown_index is not None:
                raise StoreError(unknown_outcome_message(pub))
            if not pub.approved:
                self._transition(publication_id, "draft", now, "retry: the approval does not match the content; "
                                 "approve it again")
            else:
                self._transition(publication_id, "approved", now, "retry requested", due_at=ts(now), attempts=0)
            return self.get(publication_id)

    def resolve(self, publication_id: int, posted: bool, ref: "PostRef | None" = None, *,
                now: dt.datetime | None = None) -> Publication:
        """A person settles a post whose outcome was unknown.

        ``posted=True``: it is on the platform; ``ref`` (its id) is needed when more posts follow,
        so that they can reply to it. ``posted=False``: it is not; it will be sent again.
        Either way the rest of the thread goes out as approved, nothing is repeated.
        """
        now = aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self.get(publication_id)
            refuse_if_claimed(pub)
            if pub.state != "needs_attention" or pub.unknown_index is None:
                raise StoreError(f"publication {publication_id} has no post whose outcome is unknown "
                                 f"(it is {pub.state})")
            index = pub.unknown_index
            label = post_label(index, pub.n_posts)
            if posted:
                if (ref is None or not ref.id) and index + 1 < pub.n_posts:
                    raise StoreError(f"publication {publication_id}: give the id or link of {label} (--post-id) "
                                     "so that the rest of the thread can reply to it")
                if ref is not None and ref.id:  # another thread's post would make the rest reply under it
                    other = db.execute("SELECT publication_id, idx FROM post_results WHERE platform = ? AND post_id = ?",
                                       (pub.platform, ref.id)).fetchone()
                    if other is not None:
                        raise StoreError(f"publication {publication_id}: {ref.id} is already recorded as post "
                                         f"{other[1] + 1} of publication {other[0]}; give the id of {label} of this "
                                         "thread (look at the account)")
                since = db.execute("SELECT inflight_since FROM publications WHERE id = ?",
                                   (publication_id,)).fetchone()[0] or ts(now)
                db.execute("INSERT INTO post_results (publication_id, idx, platform, account, post_id, url, extra, "
                           "posted_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'person')",
                           (publication_id, index, pub.platform, pub.account, ref.id if ref else None,
                            ref.url if ref else None, json.dumps(dict(ref.extra) if ref else {}), since))
                done = index + 1 == pub.n_posts
                what = f"resolved: {label} is on {pub.platform}" + (f" as {ref.id}" if ref and ref.id else "")
                if done:
                    self._transition(publication_id, "posted", now, what + "; thread complete", post_index=index,
                                     posted_count=index + 1)
                    return self.get(publication_id)
                fields: dict[str, Any] = {"posted_count": index + 1}
            else:
                what = f"resolved: {label} is not on {pub.platform}; it will be sent again"
                fields = {}
            if pub.approved:
                self._transition(publication_id, "approved", now, what, post_index=index, due_at=ts(now),
                                 **fields)
            else:
                self._transition(publication_id, "draft", now, what + "; approve it again", post_index=index, **fields)
            return self.get(publication_id)
