"""Time: the zone every line of output is written in, and where "now" comes from.

The one time zone every line of output and every log line is written in is schedule.yaml's.

:func:`display` is the zone: the one set by the command or daemon that loaded the schedule
(:func:`set_display`), else the workspace's schedule.yaml zone (read on first use), else this
machine's. :func:`local_text` writes an instant in it, with the zone's abbreviation (CST, EDT),
so that no line leaves its zone to be guessed.

At the end: :class:`Clock` (:class:`SystemClock`, :class:`ShiftedClock` for ``--now``) and
:func:`parse_duration`, the duration syntax of schedule.yaml; then the queue database's one time
format (:func:`ts` writes it, :func:`from_ts` reads it), :func:`utcnow`, and the older
format to the second the daemon's tables keep (:func:`ts_seconds`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys as _sys
import time
from typing import Any, Protocol

_ZONE: dt.tzinfo | None = None
_NAME: str | None = None
_LOOKED = False


def set_display(tz: dt.tzinfo | None, name: str | None = None) -> None:
    global _ZONE, _NAME, _LOOKED
    _ZONE, _NAME, _LOOKED = tz, name, True


def reset() -> None:
    """Forget the zone (tests)."""
    global _ZONE, _NAME, _LOOKED
    _ZONE, _NAME, _LOOKED = None, None, False


def display() -> dt.tzinfo | None:
    """The display zone (None: this machine's)."""
    global _LOOKED
    if not _LOOKED:
        _LOOKED = True
        try:
            from publisher.schedule.config import load_schedule_if_present

            schedule = load_schedule_if_present()
        except Exception:  # an unusable schedule is reported where it is loaded, not here
            schedule = None
        if schedule is not None:
            set_display(schedule.zone, schedule.timezone)
    return _ZONE


def name() -> str:
    display()
    if _NAME:
        return _NAME
    return dt.datetime.now().astimezone().tzname() or "local time"


def local(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(display())


def local_text(instant: dt.datetime, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return local(instant).strftime(fmt)


class ZoneFormatter(logging.Formatter):
    """Log timestamps in the display zone (not the machine's), with its offset and name."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        instant = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        return local(instant).strftime(datefmt or "%Y-%m-%dT%H:%M:%S%z %Z")


def ago(delta: dt.timedelta) -> str:
    """A duration in short words: ``45s``, ``12m``, ``5h``, ``3d``."""
    return _short(delta, exact=False)


def short_duration(delta: dt.timedelta) -> str:
    """A duration as the daemon's log lines write it: ``45s``, ``12m``, ``5h30m``, ``3d4h``."""
    return _short(delta, exact=True)


def _short(delta: dt.timedelta, *, exact: bool) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if exact and minutes else f"{hours}h"
    return f"{hours // 24}d{hours % 24}h" if exact else f"{hours // 24}d"


# --- Clock: where "now" comes from (SystemClock, ShiftedClock) ---------------------------------
#
# The daemon and the publish step ask a Clock for the current instant instead of reading the
# system clock, so that ``publisher run --now`` (ShiftedClock) and tests
# (publisher.testing.ManualClock) can run it at another time.


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class ShiftedClock:
    """Time that starts at ``start`` and runs at the speed of the real clock (``--now``)."""

    def __init__(self, start: dt.datetime):
        self._start = start.astimezone(dt.timezone.utc)
        self._anchor = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._anchor)


# --- durations as schedule.yaml writes them ---------------------------------------------------

_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: Any) -> dt.timedelta:
    """``90`` (seconds), ``"90s"``, ``"10m"``, ``"2h"``, ``"1h30m"``, ``"1d"`` -> timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 10m, 2h or 1h30m")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            return dt.timedelta(days=d, hours=h, minutes=mi, seconds=s)
    raise ValueError("expected a duration such as 90s, 10m, 2h or 1h30m")


# --- the queue database's time format ------------------------------------------------------------
#
# Every instant the queue stores is UTC ISO-8601 text of a fixed width (so that it sorts as text):
# ``2024-06-14T09:00:00.000000Z``. :func:`ts` writes it, :func:`from_ts` reads it back as an aware
# datetime; :func:`aware` refuses a naive datetime where an instant is meant.

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def aware(value: dt.datetime, what: str = "time") -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value


def ts(value: dt.datetime | None) -> str | None:
    """A datetime as stored: UTC, ISO-8601, fixed width (sorts as text)."""
    if value is None:
        return None
    return aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


if _sys.version_info >= (3, 11):  # fromisoformat reads the "Z" itself: twice as fast
    def from_ts(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)
else:
    def from_ts(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


# The second format, to the second: the daemon's own tables (schedule_slots, reported_files) and the
# feed store were written with it from the start, so it stays for them (rows already written read).

def ts_seconds(value: dt.datetime | None) -> str | None:
    """An instant as the daemon's tables and the feed store keep it: ``2024-06-14T09:00:00Z``."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_ts_seconds(value: str | None) -> dt.datetime | None:
    return None if not value else dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
