"""The slot rules the daemon and `publisher schedule` share: what a slot does, and the forecast.

:func:`decide` is one slot's decision (quiet hours, ``min_gap``, the first approved thread whose
WHOLE thread fits the quota and the budget); the daemon applies it when a slot comes due, and
:func:`forecast` replays it over the coming slots for `publisher schedule` and the expectations of
`approve` and `queue`. Both read the queue through a :class:`~publisher.schedule.store.ScheduleStore`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from publisher.platforms.registry import NAMES as PLATFORMS
from publisher.schedule.budget import gate as budget_gate
from publisher.clock import short_duration
from publisher.schedule.slots import (
    DAY,
    UTC,
    Slot,
    local_time,
    next_slots,
    quota_frees_at,
    remaining_quota,
)
from publisher.schedule.store import QueuedThread, ScheduleStore

if TYPE_CHECKING:
    from publisher.schedule.config import Schedule


# --- one slot ---------------------------------------------------------------------------------


def choose(candidates: Sequence[QueuedThread], remaining: int | None,
           fits: Callable[[QueuedThread], bool] | None = None) -> QueuedThread | None:
    """The first queued thread whose WHOLE thread fits the remaining quota (None: no quota)
    and, when ``fits`` is given, the budget (see publisher.schedule.budget)."""
    for candidate in candidates:
        if (remaining is None or candidate.posts <= remaining) and (fits is None or fits(candidate)):
            return candidate
    return None


@dataclass(frozen=True)
class Decision:
    """What a slot at ``at`` does: post ``item``, or why not (quiet, min_gap, idle, quota)."""

    outcome: str
    item: QueuedThread | None = None
    detail: str = ""


def decide(schedule: "Schedule", platform: str, at: dt.datetime, post_times: Sequence[dt.datetime],
           candidates: Sequence[QueuedThread], platform_left: int | None = None, gate=None) -> Decision:
    """The slot rules, shared by the daemon and the `publisher schedule` forecast.

    Nothing in the quiet hours; nothing within ``min_gap`` of the account's last post; else the
    first approved thread whose whole thread fits the quota left in the rolling 24 hours.
    """
    if schedule.is_quiet(at):
        return Decision("quiet", detail=f"quiet hours {schedule.quiet_hours}")
    recent = sorted(t for t in post_times if t <= at)
    gap = schedule.gap_for(platform)
    if gap and recent and at - recent[-1] < gap:
        return Decision("min_gap", detail=f"last post {short_duration(at - recent[-1])} before, "
                                          f"min_gap {short_duration(gap)}")
    if not candidates:
        return Decision("idle", detail="nothing approved")
    quota = schedule.quota_for(platform)
    remaining = remaining_quota(quota, recent, at)
    item = choose(candidates, min_known(remaining, platform_left), None if gate is None else lambda c: gate.fits(c, at))
    if item is not None:
        return Decision("post", item)
    if gate is not None:  # the quota would take one, the daily budget does not (publisher.schedule.budget)
        within = choose(candidates, min_known(remaining, platform_left))
        if within is not None:
            return Decision("budget", detail=gate.detail(within, at))
    first = candidates[0]
    if platform_left is not None and (remaining is None or platform_left < remaining):
        return Decision("quota", detail=f"next thread {first.thread_id} needs {first.posts} posts; {platform} says "
                                        f"{platform_left} are left in its 24-hour window")
    frees = quota_frees_at(quota, recent, at, first.posts)
    return Decision("quota", detail=(
        f"next thread {first.thread_id} needs {first.posts} posts, {remaining} of {quota} left"
        + (f" (enough from {local_time(frees, schedule)})" if frees else
           " (more than the daily quota: it can never be posted whole)")))


def min_known(a: int | None, b: int | None) -> int | None:
    """The smaller of two limits, where None is no limit."""
    if a is None:
        return b
    return a if b is None else min(a, b)


# --- the coming slots, the quota, the schedule's problems ------------------------------------


@dataclass(frozen=True)
class PlannedSlot:
    """A coming slot and what it is expected to do, for `publisher schedule`."""

    slot: Slot
    outcome: str
    """post, quiet, min_gap, idle, quota, credentials, account (blocked)."""
    item: QueuedThread | None = None
    detail: str = ""


@dataclass(frozen=True)
class QuotaStatus:
    platform: str
    account: str
    quota: int | None
    used: int
    remaining: int | None
    missing_env: tuple[str, ...] = ()


def quota_status(schedule: "Schedule", store: ScheduleStore, now: dt.datetime,
                 environ: dict[str, str] | None = None) -> list[QuotaStatus]:
    """Posts used and left in the rolling 24 hours, per posting account."""
    out = []
    for platform in schedule.platforms:
        found = schedule.account_for(platform)
        if found is None:
            continue
        times = [t for t in store.post_times(platform, now - DAY) if t <= now]
        quota = schedule.quota_for(platform)
        out.append(QuotaStatus(platform, found[0], quota, len(times), remaining_quota(quota, times, now),
                               tuple(schedule.missing_credentials(platform, environ))))
    return out


def forecast(schedule: "Schedule", store: ScheduleStore, now: dt.datetime, until: dt.datetime,
             environ: dict[str, str] | None = None) -> list[PlannedSlot]:
    """The coming slots in (now, until] and the thread each would take, if nothing changes.

    Simulates the daemon: each assigned thread uses quota from its slot on, for 24 hours.
    """
    planned: list[PlannedSlot] = []
    queues = {p: list(store.waiting(p, now)) for p in schedule.active_platforms()}
    times = {p: list(store.post_times(p, now - DAY)) for p in queues}
    missing = {p: schedule.missing_credentials(p, environ) for p in queues}
    problems = {p: store.account_problem(p, now) for p in queues}
    gates = {p: budget_gate(schedule, p, store, now) for p in queues}
    # Threads approved for a set time (`approve --at`) go out then, outside the slots: their
    # posts count against the quota (and min_gap) of the slots after them.
    outbox = getattr(store, "outbox", None)
    timed = sorted(((r.when, r.platform, r.n_posts - r.posted_count) for r in outbox.rows(["scheduled"])
                    if r.when is not None and r.when <= until and r.platform in queues),
                   key=lambda t: t[0]) if outbox is not None else []
    for slot in next_slots(schedule, now, until=until):
        while timed and timed[0][0] <= slot.at:
            at, platform, posts = timed.pop(0)
            times[platform].extend([max(at, now)] * posts)
        p = slot.platform
        if missing[p]:
            planned.append(PlannedSlot(slot, "credentials", detail="missing environment variable "
                                                                   + ", ".join(missing[p])))
            continue
        if problems[p] and not problems[p].startswith("paused"):
            planned.append(PlannedSlot(slot, "account", detail=problems[p]))
            continue
        decision = decide(schedule, p, slot.at, times[p], queues[p], gate=gates[p])
        if decision.item is not None:
            queues[p].remove(decision.item)
            times[p].extend([slot.at] * decision.item.posts)
            if gates[p] is not None:
                gates[p].add(decision.item, slot.at)
        planned.append(PlannedSlot(slot, decision.outcome, decision.item, decision.detail))
    return planned


def schedule_problems(schedule: "Schedule", store: ScheduleStore | None = None,
                      now: dt.datetime | None = None) -> list[str]:
    """What in the schedule silently does nothing, one line each: a source folder that does
    not exist, an enabled platform with no slots (its approved threads would wait forever), a
    platform with slots but no enabled account, and (with ``store``) approved threads waiting
    for a platform that has no slot to post them in. Said at start, on reload and by
    ``publisher schedule``."""
    problems: list[str] = []
    for source in schedule.sources:
        folder = schedule.source_dir(source)
        if not folder.is_dir() and not (source.feed or source.pages):  # fetching creates it
            what = "is not a folder" if folder.exists() else "does not exist"
            problems.append(f"source {source.path}: {folder} {what}; nothing is ingested from it")
    now = now or dt.datetime.now(UTC)
    active = schedule.active_platforms()
    for name in PLATFORMS:
        config = schedule.platforms.get(name)
        waiting = len(store.waiting(name, now)) if store is not None and name not in active else 0
        queued = f" ({waiting} approved thread{'s' if waiting != 1 else ''} waiting)" if waiting else ""
        if config is None:
            if waiting:
                problems.append(f"{name}: not in schedule.yaml, so nothing is posted there{queued}; add "
                                f"platforms.{name} with slots, or post by hand (`publisher publish ID`)")
        elif not config.enabled:
            if waiting:
                problems.append(f"{name}: disabled (platforms.{name}.enabled: false){queued}")
        elif not config.slots:
            problems.append(f"{name}: enabled but has no slots: approved threads for it wait forever{queued}; "
                            f"add platforms.{name}.slots, or post by hand (`publisher publish ID`)")
        elif schedule.account_for(name) is None:
            problems.append(f"{name}: no enabled account under platforms.{name}.accounts: its slots post "
                            f"nothing{queued}")
    return problems
