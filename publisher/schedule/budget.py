"""Spending limits: an account's optional ``daily_budget`` (US dollars per rolling 24 hours),
enforced like the quota — a thread is only started when its WHOLE estimated cost fits what is
left — and the check `publisher publish` makes before posting by hand (quota and budget).

Costs come from :mod:`publisher.schedule.cost` (X's per-post prices; other platforms cost nothing).
What was spent is estimated from the posts recorded in ``post_results`` (their texts and
times), by the daemon or by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from publisher.schedule.cost import thread_cost
from publisher.schedule.slots import remaining_quota
from publisher.schedule.store import OutboxScheduleStore

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.schedule.config import Schedule

DAY = dt.timedelta(days=1)


def _spends(outbox: "Outbox", platform: str, since: dt.datetime, prices) -> list[tuple[dt.datetime, float]]:
    from publisher.schedule.cost import estimate
    from publisher.clock import from_ts, ts

    rows = outbox.db.execute(
        "SELECT r.posted_at, tp.text FROM post_results r JOIN publications p ON p.id = r.publication_id "
        "JOIN thread_posts tp ON tp.thread_id = p.thread_id AND tp.idx = r.idx "
        "WHERE r.platform = ? AND r.posted_at > ?", (platform, ts(since))).fetchall()
    return [(from_ts(at), estimate(platform, [text], prices).dollars) for at, text in rows]  # type: ignore[misc]


class BudgetGate:
    """Does a thread's whole cost fit the budget left at an instant? (:meth:`fits`), with the
    threads a forecast assigns counted as spent from their slot on (:meth:`add`)."""

    def __init__(self, schedule: "Schedule", platform: str, outbox: "Outbox", now: dt.datetime, budget: float):
        from publisher.schedule.cost import Prices

        self.schedule, self.platform, self.outbox, self.budget = schedule, platform, outbox, budget
        self.prices = Prices.of(schedule)
        self.spent = _spends(outbox, platform, now - DAY, self.prices)
        self._costs: dict[int, float] = {}

    def cost(self, item: Any) -> float:
        pid = item.publication_id
        if pid not in self._costs:
            self._costs[pid] = thread_cost(self.outbox, pid, self.schedule).dollars
        return self._costs[pid]

    def left(self, at: dt.datetime) -> float:
        return self.budget - sum(d for t, d in self.spent if at - DAY < t <= at)

    def fits(self, item: Any, at: dt.datetime) -> bool:
        return self.cost(item) <= self.left(at) + 1e-9

    def add(self, item: Any, at: dt.datetime) -> None:
        self.spent.append((at, self.cost(item)))

    def detail(self, item: Any, at: dt.datetime) -> str:
        return (f"next thread {getattr(item, 'thread_id', None)} costs about ${self.cost(item):.3f}, "
                f"${max(self.left(at), 0):.3f} of the ${self.budget:.2f} daily budget left")


def gate(schedule: "Schedule", platform: str, store: Any, now: dt.datetime) -> BudgetGate | None:
    """The budget gate of ``platform``'s account, or None (no budget, or a store that is not the
    real outbox)."""
    found = schedule.account_for(platform)
    outbox = getattr(store, "outbox", None)
    if found is None or found[1].daily_budget is None or outbox is None:
        return None
    return BudgetGate(schedule, platform, outbox, now, found[1].daily_budget)


def manual_problem(schedule: "Schedule | None", outbox: "Outbox", publication_id: int,
                   now: dt.datetime | None = None) -> str | None:
    """Why posting a publication by hand now would go over the account's quota or budget (None: it fits)."""
    from publisher.schedule.config import DEFAULT_DAILY_QUOTA

    now = now or dt.datetime.now(dt.timezone.utc)
    pub = outbox.get(publication_id)
    p = pub.platform
    if schedule is not None and schedule.account_for(p) is not None:
        quota = schedule.quota_for(p)
        name = schedule.account_for(p)[0]  # type: ignore[index]
    else:
        quota, name = DEFAULT_DAILY_QUOTA.get(p), pub.account
    times = [t for t in outbox.post_times(p, now - DAY) if t <= now]
    left = remaining_quota(quota, times, now)
    state = outbox.account_state(p, pub.account)
    if state.daily_remaining is not None and state.daily_reset is not None and state.daily_reset > now:
        left = state.daily_remaining if left is None else min(left, state.daily_remaining)
    if left is not None and pub.remaining > left:
        return (f"publication {pub.id} has {pub.remaining} posts to send and {p}/{name} has {left} of its daily "
                f"quota of {quota} left (rolling 24 hours)")
    if schedule is not None:
        g = gate(schedule, p, type("S", (), {"outbox": outbox})(), now)
        if g is not None:
            item = OutboxScheduleStore._queued(pub)
            if not g.fits(item, now):
                return f"publication {pub.id}: {g.detail(item, now)} for {p}/{name}"
    return None
