"""Public fakes for tests of code that uses publisher (and for publisher's own tests).

* :class:`FakeTranslator` — a translator that needs no model (re-exported from
  :mod:`publisher.translate.base`).
* :class:`ManualClock` — a :class:`publisher.clock.Clock` a test moves by hand.
* :class:`MemoryScheduleStore` — the queue as the scheduler sees it (a
  :class:`~publisher.schedule.store.ScheduleStore`), in memory. ``tests/test_testing.py`` runs one
  contract on it and on the real adapter over the Outbox (:class:`publisher.daemon.wiring.OutboxStore`),
  so a test that passes against this store passes against the queue too.

Pass these in (``Daemon(store=MemoryScheduleStore(), clock=ManualClock(...))``,
``Pipeline(translator=FakeTranslator())``) rather than patching module paths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from publisher.schedule.store import QueuedThread, ScheduleStore
from publisher.translate.base import FakeTranslator

__all__ = ["FakeTranslator", "ManualClock", "MemoryScheduleStore", "ScheduleStore"]


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime):
        self._now = start.astimezone(dt.timezone.utc)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = when.astimezone(dt.timezone.utc)

    def advance(self, **kwargs: float) -> dt.datetime:
        self._now += dt.timedelta(**kwargs)
        return self._now


#: States a publication may be claimed from (the queue's READY).
_READY = ("approved", "scheduled", "failed")


@dataclass
class _Item:
    publication_id: int
    platform: str
    n_posts: int
    state: str
    due_at: dt.datetime | None
    """When it may go out (None: at any time)."""
    order: int
    title: str = ""
    thread_id: int | None = None
    article_id: int | None = None
    sent: int = 0
    claimed_from: str | None = None

    def queued(self) -> QueuedThread:
        return QueuedThread(publication_id=self.publication_id, platform=self.platform,
                            posts=self.n_posts - self.sent, thread_id=self.thread_id,
                            article_id=self.article_id, title=self.title, state=self.state, posted=self.sent)


@dataclass
class MemoryScheduleStore:
    """A :class:`~publisher.schedule.store.ScheduleStore` in memory, with the queue's rules for what is due.

    Set it up with :meth:`add` (an approved thread, or one scheduled or failed until a time) and
    drive it with :meth:`claim`, :meth:`post` and :meth:`release`, as the publish step would.
    ``problems`` and ``remaining`` say what :meth:`account_problem` and
    :meth:`platform_remaining` answer per platform; a platform with a problem has nothing due.
    """

    problems: dict[str, str] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)
    items: dict[int, _Item] = field(default_factory=dict)
    posts: list[tuple[str, dt.datetime]] = field(default_factory=list)
    """(platform, instant) of every post made."""
    claims: list[tuple[int, dt.datetime, str]] = field(default_factory=list)

    # -- setting up --

    def add(self, n_posts: int, platform: str = "x", *, state: str = "approved", at: dt.datetime | None = None,
            title: str = "", thread_id: int | None = None, article_id: int | None = None, posted: int = 0,
            publication_id: int | None = None) -> int:
        """A thread of ``n_posts`` posts, and its publication id: ``approved`` (at ``at``: due from
        then; None: due at any time), or ``scheduled``/``failed`` due at ``at``. ``thread_id`` and
        ``article_id`` are what log lines show (default: the publication id); ``posted`` posts of
        it are already out (a thread a previous run stopped halfway). ``publication_id``: an id of
        your choosing (default: one more than the highest)."""
        if state not in _READY:
            raise ValueError(f"add() makes approved, scheduled or failed publications, not {state!r}")
        if state != "approved" and at is None:
            raise ValueError(f"a {state} publication needs its time (at=)")
        if not 0 <= posted < n_posts:
            raise ValueError(f"posted must be from 0 to {n_posts - 1}, not {posted}")
        pid = publication_id if publication_id is not None else max(self.items, default=0) + 1
        if pid in self.items:
            raise ValueError(f"publication {pid} is already there")
        self.items[pid] = _Item(pid, platform, n_posts, state, at, pid, title,
                                thread_id if thread_id is not None else pid, article_id if article_id is not None else pid,
                                sent=posted)
        return pid

    def post(self, publication_id: int, now: dt.datetime) -> None:
        """One more post of a claimed publication went out at ``now`` (the last makes it posted)."""
        item = self.items[publication_id]
        if item.state != "publishing":
            raise ValueError(f"publication {publication_id} is {item.state}, not claimed")
        item.sent += 1
        self.posts.append((item.platform, now))
        if item.sent == item.n_posts:
            item.state = "posted"

    def withdraw(self, publication_id: int) -> None:
        """The approval is withdrawn (someone edited the thread): back to ``draft``, never claimed."""
        self.items[publication_id].state = "draft"

    def state(self, publication_id: int) -> str:
        return self.items[publication_id].state

    def posted(self, publication_id: int) -> int:
        """How many of its posts are out."""
        return self.items[publication_id].sent

    # -- ScheduleStore --

    def recover(self, now: dt.datetime) -> list[str]:
        return []  # no other process can die holding a claim in memory

    def post_times(self, platform: str, since: dt.datetime) -> list[dt.datetime]:
        return [t for p, t in self.posts if p == platform and t > since]

    def _due(self, platform: str, now: dt.datetime) -> list[_Item]:
        if platform in self.problems:
            return []
        due = [i for i in self.items.values() if i.platform == platform and i.state in _READY
               and (i.due_at is None or i.due_at <= now)]
        return sorted(due, key=lambda i: (i.sent == 0, i.due_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                                          i.order))

    def waiting(self, platform: str, now: dt.datetime) -> list[QueuedThread]:
        return [i.queued() for i in self._due(platform, now) if i.state == "approved" and i.sent == 0]

    def continuing(self, platform: str, now: dt.datetime) -> list[QueuedThread]:
        return [i.queued() for i in self._due(platform, now) if not (i.state == "approved" and i.sent == 0)]

    def platform_remaining(self, platform: str, now: dt.datetime) -> int | None:
        return self.remaining.get(platform)

    def account_problem(self, platform: str, now: dt.datetime) -> str | None:
        return self.problems.get(platform)

    def claim(self, publication_id: int, now: dt.datetime, reason: str) -> bool:
        item = self.items.get(publication_id)
        if item is not None and item.state == "publishing":
            return True  # already this process's (in memory there is no other), as the Outbox answers
        if item is None or item.state not in _READY:
            return False
        item.claimed_from, item.state = item.state, "publishing"
        self.claims.append((publication_id, now, reason))
        return True

    def release(self, publication_id: int, now: dt.datetime, reason: str) -> None:
        item = self.items[publication_id]
        if item.state != "publishing":
            raise ValueError(f"publication {publication_id} is {item.state}, not claimed")
        item.state, item.claimed_from = item.claimed_from or "approved", None
