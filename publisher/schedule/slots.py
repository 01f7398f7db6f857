"""The slot and time rules of schedule.yaml: local time -> instant, the slots, the quota window, misfires.

All pure (no clock of their own: every function takes the instant it reasons about), and no
pydantic: the schema is :mod:`publisher.schedule.config`; a ``Schedule`` here is only read.

* **Slots** — :func:`next_slots` / :func:`slots_between`: the posting slots of each platform as
  instants, computed in the configured IANA zone (zoneinfo, backed by the ``tzdata`` package so
  it works with no system tz database and on a machine whose own zone is UTC). A slot keeps its
  local wall-clock time across daylight-saving changes. The rule for local times that do not
  exist or exist twice is :func:`resolve_local`:

  - *nonexistent* (the spring-forward gap, e.g. 02:30 on 2024-03-10 in New York): the slot is
    posted at the first valid instant after the gap, i.e. the moment the clocks jump (03:00
    local);
  - *ambiguous* (the fall-back hour, e.g. 01:30 on 2024-11-03 in New York): the first
    occurrence (``fold=0``, still on summer time).

* **Quotas and misfires** — :func:`remaining_quota` (rolling 24 hours), :func:`quota_frees_at`,
  and :func:`plan_due`, which decides what to do with the slots that came due since the last
  one handled: post in the slot that is on time, or — for slots missed while nothing was
  running — catch up ONE (``misfire: catch_up_one``) or none (``misfire: skip``). Never a burst.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from publisher.errors import ConfigError

if TYPE_CHECKING:
    from publisher.schedule.config import Schedule

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{name: i for i, name in enumerate(DAY_NAMES)},
    **{full: i for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "tues": 1, "wednes": 2, "thur": 3, "thurs": 3,
}
_DAY_GROUPS = {
    "daily": tuple(range(7)), "everyday": tuple(range(7)), "every day": tuple(range(7)),
    "weekdays": (0, 1, 2, 3, 4), "weekends": (5, 6), "weekend": (5, 6),
}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# --- days, times of day and zones, as schedule.yaml writes them ------------------------------


def parse_time_of_day(value: Any) -> dt.time:
    """``"09:30"`` or ``"09:30:15"`` (24-hour clock) -> time."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        m = _TIME_RE.match(value.strip())
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h < 24 and mi < 60 and s < 60:
                return dt.time(h, mi, s)
    raise ValueError("expected a 24-hour time such as \"09:30\" (quote it in YAML)")


def parse_days(value: Any) -> tuple[int, ...]:
    """Days of the week: a list (``[mon, wed]``), a range (``mon-fri``), or daily/weekdays/weekends."""
    items: list[Any]
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _DAY_GROUPS:
            return _DAY_GROUPS[key]
        items = [part for part in re.split(r"[,\s]+", key) if part]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError("expected days such as [mon, wed, fri], mon-fri, daily, weekdays or weekends")
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")
        key = item.strip().lower()
        if key in _DAY_GROUPS:
            days.update(_DAY_GROUPS[key])
        elif "-" in key:
            start, _, end = key.partition("-")
            a, b = _day_index(start), _day_index(end)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            days.add(_day_index(key))
    if not days:
        raise ValueError("no days given")
    return tuple(sorted(days))


def _day_index(name: str) -> int:
    key = name.strip().lower()
    if key in _DAY_ALIASES:
        return _DAY_ALIASES[key]
    raise ValueError(f"{name!r} is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")


def days_text(days: Sequence[int]) -> str:
    days = tuple(sorted(days))
    if days == tuple(range(7)):
        return "daily"
    if days == (0, 1, 2, 3, 4):
        return "weekdays"
    if days == (5, 6):
        return "weekends"
    return ",".join(DAY_NAMES[d] for d in days)


def load_zone(name: str):
    """The ZoneInfo for an IANA name, from the system tz database or else the tzdata package."""
    import zoneinfo

    if not isinstance(name, str) or not name.strip():
        raise ValueError("expected an IANA time zone name such as Asia/Shanghai")
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = ""
        try:
            close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
            if close:
                hint = f" (did you mean {close[0]}?)"
        except Exception:  # available_timezones() scans disks; a hint is optional
            pass
        raise ValueError(f"unknown time zone {name!r}{hint}; use an IANA name such as "
                         "Asia/Shanghai or Europe/Berlin (offsets like UTC+8 are not zones)") from None



# --- local time -> instant -------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A local date and wall-clock time turned into one instant."""

    at: dt.datetime
    """The instant (UTC)."""
    note: str | None = None
    """Why the instant differs from a plain reading: "nonexistent ..." or "ambiguous ..."."""


def resolve_local(day: dt.date, wall: dt.time, zone) -> Resolved:
    """The instant at which local ``wall`` time on ``day`` happens in ``zone``.

    Rule (documented in the README):
    * a time that does not exist (clocks spring forward over it) resolves to the first valid
      instant after the gap — the moment of the jump;
    * a time that exists twice (clocks fall back) resolves to its first occurrence (fold=0).
    """
    naive = dt.datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    at0 = first.astimezone(UTC)
    at1 = second.astimezone(UTC)
    if at0 == at1:
        return Resolved(at0)
    # The two folds differ: either a gap (the wall time never shows) or an overlap (twice).
    if at0.astimezone(zone).replace(tzinfo=None) == naive:
        # Round-trips: it exists, and fold=0 is the earlier of its two occurrences.
        return Resolved(min(at0, at1), note=f"ambiguous local time {hm(wall)}: first occurrence")
    # A gap: fold=0 reads it with the offset before the jump (landing after the gap), fold=1
    # with the offset after (landing before). The jump is between; find its exact second.
    lo, hi = min(at0, at1), max(at0, at1)
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + dt.timedelta(seconds=1)
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    jump_local = hi.astimezone(zone)
    return Resolved(hi, note=f"nonexistent local time {hm(wall)} (clocks jump forward): "
                             f"posted at {hm(jump_local.time())}, the first valid time after")


def parse_instant(text: str, zone) -> dt.datetime:
    """An ISO 8601 time; without an offset it is read as local time in ``zone`` (rule above)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ConfigError(f"--now {text!r}: expected an ISO 8601 time such as 2024-06-14T09:00 "
                          "or 2024-06-14T09:00+08:00") from None
    if value.tzinfo is None:
        return resolve_local(value.date(), value.time(), zone).at
    return value.astimezone(UTC)


# --- slots -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One posting slot of one platform, as an instant."""

    platform: str
    at: dt.datetime
    """The instant (UTC)."""
    local: dt.datetime
    """The same instant in the schedule's zone."""
    wall: dt.time
    """The local time the slot was configured for (``local`` differs only in a DST gap)."""
    note: str | None = None


def next_slots(schedule: "Schedule", after: dt.datetime, *, platforms: Iterable[str] | None = None,
               limit: int | None = None, until: dt.datetime | None = None) -> Iterator[Slot]:
    """Slots strictly after ``after`` (and at or before ``until``), in time order.

    Only platforms that can post (enabled, with an enabled account) are included unless named.
    Without ``limit`` or ``until`` the iterator is endless when any slot is configured.
    """
    _aware(after, "after")
    if until is not None:
        _aware(until, "until")
    names = list(platforms) if platforms is not None else schedule.active_platforms()
    rules = [(name, rule) for name in names
             for rule in (schedule.platforms[name].slots if name in schedule.platforms else ())]
    if not rules:
        return
    zone = schedule.zone
    day = after.astimezone(zone).date() - DAY  # a day early: a gap may move a slot over midnight
    count = 0
    while True:
        found: dict[tuple[str, dt.datetime], Slot] = {}
        for name, rule in rules:
            if day.weekday() not in rule.days:
                continue
            for wall in rule.times:
                r = resolve_local(day, wall, zone)
                if r.at > after and (until is None or r.at <= until):
                    found.setdefault((name, r.at),
                                     Slot(name, r.at, r.at.astimezone(zone), wall, r.note))
        for slot in sorted(found.values(), key=lambda s: (s.at, s.platform)):
            yield slot
            count += 1
            if limit is not None and count >= limit:
                return
        if until is not None and dt.datetime.combine(day, dt.time(0)).replace(tzinfo=zone) - DAY > until:
            return
        day += DAY


def next_occurrence(zone, days: Sequence[int], wall: dt.time, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` at which local ``wall`` time on one of ``days`` happens."""
    _aware(after, "after")
    if not days:
        raise ValueError("no days")
    day = after.astimezone(zone).date() - DAY
    while True:
        if day.weekday() in days:
            at = resolve_local(day, wall, zone).at
            if at > after:
                return at
        day += DAY


def slots_between(schedule: "Schedule", start: dt.datetime, end: dt.datetime, *,
                  platforms: Iterable[str] | None = None) -> list[Slot]:
    """Slots with ``start < at <= end``."""
    if end <= start:
        return []
    return list(next_slots(schedule, start, platforms=platforms, until=end))


def _aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone)")


# --- quota -----------------------------------------------------------------------------------

QUOTA_WINDOW = DAY


def posts_in_window(post_times: Iterable[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
    """The posts that count against the quota at ``now``: those in (now - 24 h, now]."""
    start = now - QUOTA_WINDOW
    return sorted(t for t in post_times if start < t <= now)


def remaining_quota(quota: int | None, post_times: Iterable[dt.datetime], now: dt.datetime) -> int | None:
    """Posts an account may still make at ``now`` (None: no quota). Never negative."""
    if quota is None:
        return None
    return max(0, quota - len(posts_in_window(post_times, now)))


def quota_frees_at(quota: int | None, post_times: Iterable[dt.datetime], now: dt.datetime,
                   needed: int) -> dt.datetime | None:
    """The earliest instant >= ``now`` at which ``needed`` posts fit the rolling quota.

    None when they never can (``needed`` exceeds the quota itself); ``now`` when they fit now.
    """
    if quota is None:
        return now
    if needed > quota:
        return None
    recent = posts_in_window(post_times, now)
    excess = len(recent) + needed - quota
    if excess <= 0:
        return now
    # The oldest `excess` posts must leave the window: the window is (t - 24h, t], so a post at
    # p stops counting once t >= p + 24h.
    return recent[excess - 1] + QUOTA_WINDOW


# --- what is due -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DuePlan:
    """What to do with the slots that came due since the last one handled."""

    run: Slot | None
    """The one slot to post in now (on time, or the one caught up), if any."""
    late: bool
    """True when ``run`` is a caught-up missed slot rather than an on-time one."""
    missed: tuple[Slot, ...]
    """Slots given up without posting."""


def plan_due(due: Sequence[Slot], now: dt.datetime, *, policy: str, grace: dt.timedelta) -> DuePlan:
    """Decide, for one platform, what to do with the slots in ``due`` (all at or before ``now``).

    The latest slot, if no later than ``grace`` ago, is on time and is run; every earlier one is
    given up (they were missed; running them too would be a burst). When even the latest is
    older than ``grace``, the daemon was down: ``catch_up_one`` runs that latest one now,
    ``skip`` gives them all up.
    """
    if not due:
        return DuePlan(None, False, ())
    ordered = sorted(due, key=lambda s: s.at)
    latest = ordered[-1]
    if latest.at > now:
        raise ValueError("plan_due got a slot in the future")
    earlier = tuple(ordered[:-1])
    if now - latest.at <= grace:
        return DuePlan(latest, False, earlier)
    if policy == "catch_up_one":
        return DuePlan(latest, True, earlier)
    return DuePlan(None, False, tuple(ordered))


# --- how log lines and messages write times --------------------------------------------------


def hm(t: dt.time) -> str:
    """``09:30`` (``09:30:15`` when it has seconds)."""
    return t.strftime("%H:%M:%S") if t.second else t.strftime("%H:%M")


def local_time(instant: dt.datetime, schedule: "Schedule") -> str:
    """An instant in the schedule's zone, as the daemon's log lines and the slot rules write it."""
    return instant.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M:%S %Z")
