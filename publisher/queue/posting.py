"""The publishing steps :func:`publisher.publishing.publish.publish_publication` takes on a
claimed publication: mark a post in flight, store what the platform returned, or apply the step
:mod:`publisher.publishing.failures` decided after a failure.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Mapping

from publisher.clock import aware, ts, utcnow
from publisher.errors import StoreError
from publisher.queue.claims import Claims
from publisher.queue.records import Publication
from publisher.queue.states import post_label

if TYPE_CHECKING:
    from publisher.models import PostRef
    from publisher.publishing.failures import Step


class Posting(Claims):
    """Each post of a claimed thread, exactly once."""

    def in_flight(self, publication_id: int, index: int) -> Publication:
        """The publication, if this outbox's owner is publishing it with post ``index`` in flight."""
        pub = self._own(publication_id)
        if pub.inflight_index != index:
            raise StoreError(f"publication {publication_id}: post {index + 1} was not in flight")
        return pub

    def begin_post(self, publication_id: int, index: int, *, now: dt.datetime | None = None) -> None:
        """Mark post ``index`` as in flight. Call right BEFORE sending it: if the process dies
        while it is on the wire, :meth:`recover` finds the mark and asks a person."""
        now = aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self._own(publication_id)
            if pub.inflight_index is not None:
                raise StoreError(f"publication {publication_id}: {post_label(pub.inflight_index, pub.n_posts)} "
                                 "is already in flight")
            if index != pub.posted_count:
                raise StoreError(f"publication {publication_id}: the next post to send is {pub.posted_count + 1}, "
                                 f"not {index + 1}")
            db.execute("UPDATE publications SET inflight_index = ?, inflight_since = ?, updated_at = ? WHERE id = ?",
                       (index, ts(now), ts(now), publication_id))
            self._event(publication_id, "publishing", "publishing", now,
                        f"sending {post_label(index, pub.n_posts)}", index)

    def record_post(self, publication_id: int, index: int, ref: "PostRef", *, now: dt.datetime | None = None) -> Publication:
        """Store the id the platform returned for post ``index`` and clear the in-flight mark,
        in one transaction; the last post makes the publication ``posted``."""
        now = aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self.in_flight(publication_id, index)
            extra = dict(ref.extra)
            db.execute("INSERT INTO post_results (publication_id, idx, platform, account, post_id, url, extra, "
                       "posted_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'platform')",
                       (publication_id, index, pub.platform, pub.account, ref.id, ref.url,
                        json.dumps(extra, default=str), ts(now)))
            label = post_label(index, pub.n_posts)
            account_fields: dict[str, Any] = {}
            if isinstance(extra.get("daily_remaining"), int):
                account_fields["daily_remaining"] = extra["daily_remaining"]
                account_fields["daily_reset"] = extra.get("daily_reset")
            blocked = self.account_state(pub.platform, pub.account).blocked_reason
            if blocked:
                account_fields.update(blocked_reason=None, blocked_at=None)
            if account_fields:
                self._account_update(pub.platform, pub.account, **account_fields)
            if index + 1 == pub.n_posts:
                self._transition(publication_id, "posted", now, f"posted {label} ({ref.id}); thread complete",
                                 post_index=index, posted_count=index + 1, attempts=0)
            else:
                db.execute("UPDATE publications SET posted_count = ?, inflight_index = NULL, inflight_since = NULL, "
                           "attempts = 0, updated_at = ? WHERE id = ?", (index + 1, ts(now), publication_id))
                self._event(publication_id, "publishing", "publishing", now, f"posted {label} ({ref.id})", index)
            return self.get(publication_id)

    def apply(self, publication_id: int, step: "Step", *, now: dt.datetime | None = None) -> Publication:
        """Apply the step :func:`publisher.publishing.failures.decide` chose after post
        ``step.post_index`` failed: the account's change first, then the publication's move, in
        one transaction. Times in the step are stored in the queue's format."""
        now = aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.in_flight(publication_id, step.post_index)
            if step.account:
                self._account_update(pub.platform, pub.account, **_stored(step.account))
            self._transition(publication_id, step.state, now, step.reason, post_index=step.post_index,
                             **_stored(step.fields))
            return self.get(publication_id)


def _stored(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as the queue stores them (instants as :func:`publisher.clock.ts` text)."""
    return {k: ts(v) if isinstance(v, dt.datetime) else v for k, v in fields.items()}
