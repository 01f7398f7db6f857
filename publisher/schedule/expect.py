"""When is a thread expected to go out? The answer `approve`, `queue` and `schedule` give.

:func:`expect` runs the same forecast as `publisher schedule` (the daemon's own slot rules:
quiet hours, min_gap, whole threads within the quota) and finds the publication in it, or says
why no slot will take it: no schedule, the platform is not there or has no slots or no
account, credentials are missing, the account is stopped, the thread is longer than the
daily quota, or nothing within the horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher.schedule.rules import forecast
from publisher.schedule.store import OutboxScheduleStore

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import Publication
    from publisher.schedule.config import Schedule

HORIZON = dt.timedelta(days=30)


@dataclass(frozen=True)
class Expectation:
    at: dt.datetime | None
    """The expected instant (None: no slot will take it)."""
    text: str
    """A sentence saying when (in the schedule's zone, named) or why not."""


def _local(instant: dt.datetime, schedule: "Schedule | None") -> str:
    from publisher.clock import local_text, name

    if schedule is not None:
        return instant.astimezone(schedule.zone).strftime("%a %Y-%m-%d %H:%M ") + schedule.timezone
    return local_text(instant, "%a %Y-%m-%d %H:%M ") + name()


def blocker(schedule: "Schedule", pub: "Publication", outbox: "Outbox", *, slots: bool = True,
            environ: dict[str, str] | None = None) -> str | None:
    """Why nothing of ``schedule`` will post ``pub`` (None: something may)."""
    p = pub.platform
    where = str(schedule.file) if schedule.file else "schedule.yaml"
    config = schedule.platforms.get(p)
    by_hand = f"post it by hand with `publisher publish {pub.id}`"
    nothing = "no slot will take it" if slots else "`publisher run` will not post it"
    if config is None:
        return f"{p} is not in {where}: {nothing}; add platforms.{p}, or {by_hand}"
    if not config.enabled:
        return f"{p} is disabled in {where} (platforms.{p}.enabled: false): {nothing}"
    found = schedule.account_for(p)
    if found is None:
        return f"{p} has no enabled account in {where}: {nothing}"
    if slots and not config.slots:
        return f"{p} has no slots in {where}: no slot will take it; add platforms.{p}.slots, or {by_hand}"
    missing = schedule.missing_credentials(p, environ)
    if missing:
        return (f"{p}/{found[0]} cannot post: missing environment variable {', '.join(missing)} "
                "(set them in the environment or the workspace's .env)")
    state = outbox.account_state(p, pub.account)
    if state.blocked_reason:
        return f"{p}/{found[0]} is stopped: {state.blocked_reason}"
    quota = schedule.quota_for(p)
    if quota is not None and pub.remaining > quota:
        return (f"it has {pub.remaining} posts, more than {p}/{found[0]}'s daily quota of {quota}: it can never go "
                f"out whole; shorten it (`publisher edit {pub.id}`) or raise daily_quota")
    return None


def expect(schedule: "Schedule | None", outbox: "Outbox", publication_id: int, now: dt.datetime | None = None,
           environ: dict[str, str] | None = None) -> Expectation:
    """When ``publication_id`` (approved, or scheduled with --at) is expected to go out."""
    now = now or dt.datetime.now(dt.timezone.utc)
    pub = outbox.get(publication_id)
    if schedule is None:
        return Expectation(None, "there is no schedule.yaml (none found from this folder upward, and no "
                                 "$PUBLISHER_SCHEDULE): no slot will take it; post it by hand with "
                                 f"`publisher publish {pub.id}`, or make a workspace with `publisher init`")
    if pub.state == "scheduled" and pub.scheduled_at is not None:
        why = blocker(schedule, pub, outbox, slots=False, environ=environ)
        when = _local(max(pub.scheduled_at, now), schedule)
        if why:
            return Expectation(None, f"set for {when}, but {why}")
        return Expectation(pub.scheduled_at, f"at {when} (its set time; `publisher run` must be running)")
    why = blocker(schedule, pub, outbox, environ=environ)
    if why:
        return Expectation(None, why)
    planned = forecast(schedule, OutboxScheduleStore(outbox), now, now + HORIZON, environ)
    mine = [s for s in planned if s.slot.platform == pub.platform]
    for s in mine:
        if s.item is not None and s.item.publication_id == pub.id:
            ahead = sum(1 for o in mine if o.item is not None and o.slot.at < s.slot.at)
            account = schedule.account_for(pub.platform)[0]  # type: ignore[index]
            return Expectation(s.slot.at, f"in {pub.platform}/{account}'s slot of {_local(s.slot.at, schedule)}"
                                          + (f" ({ahead} thread{'s go' if ahead != 1 else ' goes'} out before it)"
                                             if ahead else ""))
    reasons = sorted({f"{s.outcome}: {s.detail}" for s in mine if s.item is None and s.detail})
    return Expectation(None, f"no {pub.platform} slot in the next {HORIZON.days} days takes it"
                             + (f" ({'; '.join(reasons[:2])})" if reasons else ""))


def expected_times(schedule: "Schedule | None", outbox: "Outbox", now: dt.datetime,
                   environ: dict[str, str] | None = None) -> dict[int, dt.datetime]:
    """Publication id -> the slot expected to post it, for every approved thread (one forecast)."""
    if schedule is None:
        return {}
    planned = forecast(schedule, OutboxScheduleStore(outbox), now, now + HORIZON, environ)
    return {s.item.publication_id: s.slot.at for s in planned if s.item is not None}
