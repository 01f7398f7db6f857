"""What the queue commands share: opening the outbox, and the time zone times are read and shown in
(with ``--at TIME``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox


def open_outbox(read_only_ok: bool = False) -> "Outbox":
    from publisher.queue.outbox import Outbox

    return Outbox.open(read_only_ok=read_only_ok)


@dataclass(frozen=True)
class Zone:
    """The zone the queue commands read and show times in: schedule.yaml's when there is one
    (the zone `publisher run` and `publisher schedule` use), else this machine's."""

    tz: dt.tzinfo | None
    """None: this machine's zone."""
    name: str
    source: str
    """Where the zone comes from: the schedule file, or "this machine"."""

    def show(self, value: dt.datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if value else "-"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.source})"

    def instant(self, naive: dt.datetime) -> dt.datetime:
        """A wall-clock time in this zone as an aware instant (a time skipped by a DST jump
        becomes the first valid instant after it; a time shown twice, the first one)."""
        if self.tz is None:
            return naive.astimezone()
        from publisher.schedule.slots import resolve_local

        return resolve_local(naive.date(), naive.time(), self.tz).at


def time_zone(strict: bool = True) -> Zone:
    """schedule.yaml's zone when the file exists (an invalid file is an error, or with
    ``strict=False`` a warning and this machine's zone), else this machine's zone."""
    from publisher.config import schedule_path

    path = schedule_path()
    if path.is_file():  # publisher.schedule (pydantic) is only imported when there is a schedule
        from publisher.errors import ConfigError
        from publisher.schedule.config import load_schedule_if_present

        try:
            schedule = load_schedule_if_present(path)
        except ConfigError as exc:
            if strict:
                raise
            click.echo(f"warning: {str(exc).splitlines()[0]} (times shown in this machine's zone)", err=True)
            schedule = None
        if schedule is not None:
            return Zone(tz=schedule.zone, name=schedule.timezone, source=str(path))
    local = dt.datetime.now().astimezone()
    return Zone(tz=None, name=local.tzname() or "local time", source="this machine's zone")


def parse_when(text: str, now: dt.datetime | None = None, zone: Zone | None = None) -> dt.datetime:
    """A time given on the command line, as an aware datetime (UTC).

    Accepts ISO 8601 (``2024-06-14T08:00``, ``2024-06-14 08:00+08:00``, ``...Z``), a time of
    day (``08:30``: the next time the clock shows it) and offsets from now (``+90m``, ``+2h``,
    ``+1d``). Times without a zone are in ``zone`` (default: this machine's). Anything else,
    an impossible time (``25:00``) or one out of range, is a :class:`click.BadParameter`.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    zone = zone or Zone(tz=None, name="local time", source="this machine's zone")
    raw = text.strip()
    try:
        rel = re.fullmatch(r"\+(\d+)\s*([smhd])", raw)
        if rel:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[rel.group(2)]
            return (now + dt.timedelta(**{unit: int(rel.group(1))})).astimezone(dt.timezone.utc)
        clock = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
            if hour > 23 or minute > 59:
                raise click.BadParameter(f"{text!r} is not a time of day (00:00 to 23:59)")
            today = now.astimezone(zone.tz).date()
            for day in (today, today + dt.timedelta(days=1), today + dt.timedelta(days=2)):
                when = zone.instant(dt.datetime.combine(day, dt.time(hour, minute)))
                if when > now:
                    return when.astimezone(dt.timezone.utc)
            raise click.BadParameter(f"{text!r}: no such time in the next days")  # pragma: no cover
        try:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a time; use 2024-06-14T08:00, 08:00 or +2h") from None
        return (zone.instant(when) if when.tzinfo is None else when).astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):  # beyond year 1..9999, a timedelta too large
        raise click.BadParameter(f"{text!r} is out of range; use 2024-06-14T08:00, 08:00 or +2h") from None


def at_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    """--at TIME, read in schedule.yaml's zone (else this machine's)."""
    return parse_when(value, zone=time_zone()) if value is not None else None


def media_lines(outbox: "Outbox", publication_id: int, thread: Any, index: int) -> list[str]:
    """The images (and card) of one post, and their uploads, for `show`."""
    from publisher.queue.media import uploads_of
    from publisher.media.upload import describe

    images = [m for m in thread.media if m.post == index]
    card = thread.card if thread.card is not None and thread.card.post == index else None
    if not images and card is None:
        return []
    lines = [f"      ▸ {line.strip()}" if not line.startswith(" ") else f"        {line.strip()}"
             for line in describe(images, card)]
    for u in uploads_of(outbox.db, publication_id):
        if u["post"] == index + 1:
            lines.append(f"        uploaded as {u['media_id']} at {u['uploaded_at']}"
                         + (f" (kept by the platform until {u['expires_at']})" if u["expires_at"] else ""))
    return lines
