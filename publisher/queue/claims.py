"""Taking work: what is due, claiming a publication for this process (within a quota), giving
it back, moving it in time, and settling claims of processes that are gone (:meth:`Claims.recover`).
"""

from __future__ import annotations

import datetime as dt

from publisher.clock import aware, ts, utcnow
from publisher.errors import StoreError
from publisher.queue.owner import (current_owner, describe_owner, local_status, owner_alive, owner_status,
                                   parse_owner, this_process)
from publisher.queue.reads import PUB_COLUMNS, PUB_FROM, Reads, read_publication
from publisher.queue.records import Publication
from publisher.queue.states import READY, claimed_message, not_ready_message, post_label, utc_text

#: READY as SQL text (the states :meth:`Claims.due` takes).
_READY_SQL = ", ".join(f"'{s}'" for s in READY)


class Claims(Reads):
    """Who publishes what, and when."""

    def _due_sql(self, with_max_posts: bool) -> str:
        return (f"SELECT {PUB_COLUMNS} FROM {PUB_FROM} "
                "LEFT JOIN accounts acc ON acc.platform = p.platform AND acc.account = p.account "
                f"WHERE p.platform = ? AND p.state IN ({_READY_SQL}) "
                "AND p.due_at IS NOT NULL AND p.due_at <= ? "
                "AND p.approved_hash = t.content_hash "
                "AND (acc.blocked_reason IS NULL) AND (acc.paused_until IS NULL OR acc.paused_until <= ?) "
                + ("AND p.n_posts - p.posted_count <= ? " if with_max_posts else "")
                + "ORDER BY p.posted_count > 0 DESC, p.due_at, p.id")

    def due(self, platform: str, now: dt.datetime, *, limit: int | None = None) -> list[Publication]:
        """Approved publications for ``platform`` that may be posted at ``now``, in the order the
        scheduler should take them: partly posted threads first, then by due time.

        Due means: ``approved`` (any time after approval), ``scheduled`` for ``now`` or earlier,
        or ``failed`` with its next try at ``now`` or earlier; on an account that is neither
        stopped (credentials rejected) nor rate-limited at ``now``.
        """
        now_s = ts(aware(now, "now"))
        sql = self._due_sql(False) + (f" LIMIT {int(limit)}" if limit else "")
        return [read_publication(r) for r in self.db.execute(sql, (platform, now_s, now_s))]

    def claim_next(self, platform: str, now: dt.datetime, *, max_posts: int | None = None) -> Publication | None:
        """Take the first due publication whose remaining posts fit ``max_posts`` (the quota left).

        The publication becomes ``publishing`` and belongs to this process; post it with
        :func:`publisher.publishing.publish.publish_publication`, or give it back with :meth:`release`.
        Publications left ``publishing`` by a dead process are settled first (:meth:`recover`).
        """
        now = aware(now, "now")
        now_s = ts(now)
        with self.transaction() as db:
            self.recover(now)
            if max_posts is None:
                row = db.execute(self._due_sql(False) + " LIMIT 1" + self._skip_locked, (platform, now_s, now_s)).fetchone()
            else:
                row = db.execute(self._due_sql(True) + " LIMIT 1" + self._skip_locked,
                                 (platform, now_s, now_s, max_posts)).fetchone()
            if row is None:
                return None
            return self.claim(row[0], now, why="claimed by the scheduler")

    @property
    def _skip_locked(self) -> str:
        from publisher.queue.pgstore import SKIP_LOCKED

        return SKIP_LOCKED if self.postgres else ""

    def _owner_alive(self, owner: str | None) -> bool:
        """:func:`owner_alive`; on PostgreSQL a process on another host is judged by its lease."""
        if not self.postgres:
            return owner_alive(owner)
        found, mine = parse_owner(owner), parse_owner(current_owner())
        if found is None or mine is None:
            return False
        if (found.host, found.boot, found.pid_ns) == (mine.host, mine.boot, mine.pid_ns):
            return local_status(found, mine) == "alive"  # a pid of this machine and namespace: look it up
        # another host (another kernel boot is no proof of death here), or another container
        return bool(self.db.owner_alive(found.process))  # type: ignore[attr-defined]

    def claim(self, publication_id: int, now: dt.datetime | None = None, *, why: str = "publish requested",
              quota: int | None = None) -> Publication:
        """Make this process the one publishing ``publication_id`` (state ``publishing``).

        Works from approved, scheduled or failed, whatever their time (publishing by hand).
        Refuses anything not approved for its current content, and anything another live
        process is publishing. Already claimed by this process: returned as it is.

        ``quota`` (the platform's posts per rolling 24 hours): counted in the database, inside
        the claim's transaction, so that two daemons on two hosts never both spend the last of
        it: the posts sent in the window plus those that threads claimed elsewhere still have
        to send, plus this thread's remaining posts, must fit.
        """
        now = aware(now or utcnow(), "now")
        me = self.me()
        with self.transaction():
            if self.postgres and self.db.execute("SELECT id FROM publications p WHERE id = ?" + self._skip_locked,
                                                 (publication_id,)).fetchone() is None:
                # the row is locked by another host's claim in progress (or it does not exist)
                self.get(publication_id)
                raise StoreError(f"publication {publication_id} is being claimed by another process; try again")
            pub = self.get(publication_id)
            if pub.state == "publishing":
                if pub.owner == me:
                    return pub
                if self._owner_alive(pub.owner):
                    raise StoreError(claimed_message(pub))
                self.recover(now)
                pub = self.get(publication_id)
            if pub.state not in READY:
                raise StoreError(not_ready_message(pub))
            if quota is not None and pub.approved:
                used = sum(int(n) for (n,) in self.db.execute(  # sum(): numeric on PostgreSQL, hence int()
                    "SELECT count(*) FROM post_results WHERE platform = ? AND posted_at > ? AND posted_at <= ? "
                    "UNION ALL SELECT coalesce(sum(n_posts - posted_count), 0) FROM publications "
                    "WHERE platform = ? AND state = 'publishing' AND id != ?",
                    (pub.platform, ts(now - dt.timedelta(days=1)), ts(now), pub.platform, publication_id)))
                if used + pub.remaining > quota:
                    raise StoreError(f"publication {publication_id}: {pub.remaining} posts to send, "
                                     f"{max(0, quota - int(used))} of the {pub.platform} quota of {quota} left "
                                     "(posts sent in the last 24 hours and threads being published)")
            if not pub.approved:
                if pub.approved_hash is None:
                    raise StoreError(f"publication {publication_id} is not approved")
                self._transition(publication_id, "draft", now, "the approval does not match the content; "
                                 "approve it again")
            else:
                if self.postgres:  # this process's lease beats, whatever owner it claims as
                    self.db.touch_lease(this_process())  # type: ignore[attr-defined]
                self._transition(publication_id, "publishing", now, f"{why} ({describe_owner(me)})",
                                 owner=me, claimed_from=pub.state, claimed_at=ts(now), inflight_index=None,
                                 inflight_since=None)
                return self.get(publication_id)
        # committed: the withdrawn approval stays withdrawn
        raise StoreError(f"publication {publication_id}: its content changed after approval; "
                         f"approve it again (`publisher approve {publication_id}`)")

    def release(self, publication_id: int, reason: str, *, now: dt.datetime | None = None) -> Publication:
        """Give back a claimed publication with nothing in flight; it returns to where it was."""
        now = aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self._own(publication_id)
            if pub.inflight_index is not None:
                raise StoreError(f"publication {publication_id}: a post is in flight; record its outcome first")
            back = db.execute("SELECT claimed_from FROM publications WHERE id = ?", (publication_id,)).fetchone()[0]
            self._transition(publication_id, back or "approved", now, reason)
            return self.get(publication_id)

    def release_claim(self, publication_id: int, *, now: dt.datetime | None = None) -> Publication:
        """A person takes back a claim whose process is gone or cannot be checked from here.

        Automatic recovery (:meth:`recover`) settles claims of processes that are gone for
        certain; a claim made on another machine or in another container (a re-created
        container gets a new host name) can never be judged from here, so it would stay
        ``publishing`` forever. This is the way out, for a person who knows that process is
        gone. Like :meth:`recover`: a post that was in flight becomes ``needs_attention`` naming
        that post (it may or may not be on the platform: never a blind repost); with nothing in
        flight the publication goes back to where it was claimed from (approved, scheduled or
        failed). Refused when the owner is a process on this machine that still runs.

        Should that process still be running after all, its next step is refused (it no longer
        owns the publication), so nothing is posted twice; a post it had in flight waits in
        ``needs_attention`` like any other.
        """
        now = aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self.get(publication_id)
            if pub.state != "publishing":
                raise StoreError(f"publication {publication_id} is not claimed by any process (it is {pub.state}"
                                 + (f": {pub.note})" if pub.note else ")"))
            who = describe_owner(pub.owner)
            status = owner_status(pub.owner)
            if status == "alive":
                raise StoreError(f"publication {publication_id} is being published by {who}, which is running; "
                                 "let it finish, or stop that process first")
            claimed_from = db.execute("SELECT claimed_from FROM publications WHERE id = ?",
                                      (publication_id,)).fetchone()[0]
            since = f" since {utc_text(pub.claimed_at)}" if pub.claimed_at else ""
            holder = f"{who}{since}, {'gone' if status == 'dead' else 'not checkable from here'}"
            if pub.inflight_index is not None:
                label = post_label(pub.inflight_index, pub.n_posts)
                self._transition(publication_id, "needs_attention", now,
                                 f"claim of {holder} released by hand while {label} was in flight: it may or may "
                                 f"not be on {pub.platform}; check, then `publisher resolve {publication_id} --posted "
                                 "--post-id ID` or --not-posted", post_index=pub.inflight_index,
                                 unknown_index=pub.inflight_index)
            else:
                done = f" ({pub.posted_count} of {pub.n_posts} posts were already on {pub.platform})" \
                    if pub.posted_count else ""
                self._transition(publication_id, claimed_from or "approved", now,
                                 f"claim of {holder} released by hand; nothing was in flight{done}; back in line")
            return self.get(publication_id)

    def schedule(self, publication_id: int, at: dt.datetime, reason: str, *,
                 now: dt.datetime | None = None) -> Publication:
        """Set the time an approved (or claimed, with nothing in flight) publication goes out."""
        now = aware(now or utcnow(), "now")
        aware(at, "at")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                pub = self._own(publication_id)
                if pub.inflight_index is not None:
                    raise StoreError(f"publication {publication_id}: a post is in flight")
            elif pub.state not in READY:
                raise StoreError(not_ready_message(pub))
            if not pub.approved:
                raise StoreError(f"publication {publication_id} is not approved")
            self._transition(publication_id, "scheduled", now, reason, scheduled_at=ts(at))
            return self.get(publication_id)

    def _own(self, publication_id: int) -> Publication:
        """The publication, if this outbox's owner is publishing it; refused otherwise."""
        pub = self.get(publication_id)
        if pub.state != "publishing" or pub.owner != self.me():
            raise StoreError(f"publication {publication_id} is not being published by this process "
                             f"(it is {pub.state})")
        return pub

    def recover(self, now: dt.datetime | None = None) -> list[Publication]:
        """Settle publications left ``publishing`` by a process that is gone.

        A post in flight when it died: ``needs_attention`` naming that post (it may or may not
        be on the platform). Nothing in flight: back to where it was claimed from. Cheap to call
        often (an index lookup when there is nothing to do).
        """
        now = aware(now or utcnow(), "now")
        rows = self.db.execute("SELECT id, owner, inflight_index, n_posts, claimed_from, platform FROM publications "
                               "WHERE state = 'publishing'").fetchall()
        stale = [r for r in rows if not self._owner_alive(r[1])]
        if not stale:
            return []
        changed = []
        with self.transaction() as db:
            for pub_id, owner, inflight, n_posts, claimed_from, platform in stale:
                current = db.execute("SELECT state, owner, inflight_index FROM publications WHERE id = ?",
                                     (pub_id,)).fetchone()
                if current[0] != "publishing" or current[1] != owner:
                    continue
                who = describe_owner(owner)
                if inflight is not None:
                    label = post_label(inflight, n_posts)
                    self._transition(pub_id, "needs_attention", now,
                                     f"interrupted while sending {label} ({who} stopped): it may or may not be on "
                                     f"{platform}; check, then `publisher resolve {pub_id} --posted --post-id ID` "
                                     "or --not-posted", post_index=inflight, unknown_index=inflight)
                else:
                    self._transition(pub_id, claimed_from or "approved", now,
                                     f"{who} stopped before sending anything; back in line")
                changed.append(self.get(pub_id))
        return changed
