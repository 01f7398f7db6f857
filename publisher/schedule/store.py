"""The queue as the slot rules read it: :class:`QueuedThread`, the :class:`ScheduleStore` protocol,
and :class:`OutboxScheduleStore`, the real one over :class:`publisher.queue.outbox.Outbox`.

The daemon's adapter (:class:`publisher.daemon.wiring.OutboxStore`) is this one plus the publish
step; `publisher schedule`, `status` and the expectations of `approve` read through this one.
:class:`publisher.testing.MemoryScheduleStore` is the same protocol in memory.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol, Sequence

from publisher.errors import StoreError

log = logging.getLogger("publisher.daemon")


@dataclass(frozen=True)
class QueuedThread:
    """A publication the scheduler may take: approved and waiting, or one to continue."""

    publication_id: int
    platform: str
    posts: int
    """Posts it will still send: the whole thread, or what is left of a partly posted one."""
    thread_id: int | None = None
    article_id: int | None = None
    title: str = ""
    state: str = "approved"
    posted: int = 0
    """Posts of it already on the platform."""

    def ids(self) -> str:
        """Ids for log lines: article, thread, publication."""
        return f"article {self.article_id} thread {self.thread_id} publication {self.publication_id}"


class ScheduleStore(Protocol):
    """The outbox, as the scheduler sees it (:class:`OutboxScheduleStore` adapts publisher.queue.outbox)."""

    def recover(self, now: dt.datetime) -> Sequence[str]:
        """Settle publications left ``publishing`` by a process that died; one line each."""
        ...

    def post_times(self, platform: str, since: dt.datetime) -> Sequence[dt.datetime]:
        """Instants of the posts made on ``platform`` after ``since``, by the daemon or by hand."""
        ...

    def waiting(self, platform: str, now: dt.datetime) -> Sequence[QueuedThread]:
        """Approved publications with nothing posted yet, waiting for a slot, in posting order."""
        ...

    def continuing(self, platform: str, now: dt.datetime) -> Sequence[QueuedThread]:
        """Work due outside the slots: partly posted threads, retries whose time came, and
        publications approved for an explicit time (``approve --at``) that has come."""
        ...

    def platform_remaining(self, platform: str, now: dt.datetime) -> int | None:
        """Posts the platform itself last said are left in its 24-hour window (None: unknown)."""
        ...

    def account_problem(self, platform: str, now: dt.datetime) -> str | None:
        """Why nothing can be posted on ``platform`` now (credentials rejected, rate-limited), or None."""
        ...

    def claim(self, publication_id: int, now: dt.datetime, reason: str) -> bool:
        """Take a publication for this process; False if it is no longer approved or free."""
        ...

    def release(self, publication_id: int, now: dt.datetime, reason: str) -> None:
        """Give back a claimed publication that was not started."""
        ...


class OutboxScheduleStore:
    """:class:`publisher.queue.outbox.Outbox` as a :class:`ScheduleStore`.

    Quotas are counted per platform (publisher posts through one account per platform), from
    the ``post_results`` table, which records every post the moment its id is known.
    """

    def __init__(self, outbox):
        self.outbox = outbox

    # -- ScheduleStore --

    def recover(self, now: dt.datetime) -> list[str]:
        return [f"{p.platform} article {p.article_id} thread {p.thread_id} publication {p.id}: {p.state}: {p.note}"
                for p in self.outbox.recover(now)]

    def post_times(self, platform: str, since: dt.datetime) -> list[dt.datetime]:
        return self.outbox.post_times(platform, since)

    @staticmethod
    def _queued(pub) -> QueuedThread:
        return QueuedThread(publication_id=pub.id, platform=pub.platform, posts=pub.remaining,
                            thread_id=pub.thread_id, article_id=pub.article_id, title=pub.title, state=pub.state,
                            posted=pub.posted_count)

    def waiting(self, platform: str, now: dt.datetime) -> list[QueuedThread]:
        return [self._queued(p) for p in self.outbox.due(platform, now)
                if p.state == "approved" and p.posted_count == 0]

    def continuing(self, platform: str, now: dt.datetime) -> list[QueuedThread]:
        return [self._queued(p) for p in self.outbox.due(platform, now)
                if not (p.state == "approved" and p.posted_count == 0)]

    def platform_remaining(self, platform: str, now: dt.datetime) -> int | None:
        state = self.outbox.account_state(platform)
        if state.daily_remaining is None or state.daily_reset is None or state.daily_reset <= now:
            return None
        return state.daily_remaining

    def account_problem(self, platform: str, now: dt.datetime) -> str | None:
        state = self.outbox.account_state(platform)
        if state.blocked_reason:
            return f"blocked: {state.blocked_reason}"
        if state.paused_until is not None and state.paused_until > now:
            from publisher.clock import local_text

            until = local_text(state.paused_until, "%Y-%m-%d %H:%M:%S %Z")
            return f"paused until {until}: {state.pause_reason or ''}".rstrip(": ")
        return None

    def claim(self, publication_id: int, now: dt.datetime, reason: str, *, quota: int | None = None) -> bool:
        try:
            self.outbox.claim(publication_id, now, why=reason, quota=quota)
        except StoreError as exc:
            log.warning("publication %s not taken: %s", publication_id, exc)
            return False
        return True

    def release(self, publication_id: int, now: dt.datetime, reason: str) -> None:
        self.outbox.release(publication_id, reason, now=now)
