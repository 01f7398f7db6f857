"""`publisher status`: is the daemon alive, and does anything need a person?

Read from the queue database alone (no platform is contacted):

* the **heartbeat** (table ``heartbeat``, one row): ``publisher run`` writes it at start and at
  every tick (pid, host, version, the schedule file it runs, the last scan), and marks it
  stopped when it exits cleanly; ``run --once`` writes it too (mode ``once``);
* what waits for a person: publications in ``needs_attention``, drafts **held** back from an
  auto-approving source, claims (``publishing``) whose process is gone or cannot be checked
  from here, accounts stopped (credentials rejected) and accounts with missing credentials,
  approved threads the quota (or the daily budget) keeps out of every slot for a day;
* per account: the next slot and what it would post, quota and budget left, and when the
  credentials were last checked.

:func:`collect` returns a :class:`Status`; ``status.problems`` empty means nothing needs a
person (exit status 0). The same problems feed the alerts (:mod:`publisher.cockpit.notify`), each with a
stable ``key`` so that an event is sent once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from publisher import __version__
from publisher.clock import ago

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.schedule.config import Schedule

UTC = dt.timezone.utc
#: A daemon whose last beat is older than this many scan intervals (plus a minute) is not alive.
STALE_INTERVALS = 3
#: A `run --once` (cron) older than this has stopped running.
ONCE_STALE = dt.timedelta(hours=1)


def _ts(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# --- the heartbeat ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Heartbeat:
    mode: str
    """``daemon`` (publisher run) or ``once`` (publisher run --once)."""
    pid: int
    host: str
    version: str
    schedule: str
    started_at: dt.datetime
    beat_at: dt.datetime
    scan_at: dt.datetime | None
    interval: float
    """Seconds between ticks (the schedule's scan_every)."""
    stopped_at: dt.datetime | None

    def verdict(self, now: dt.datetime) -> tuple[bool, str]:
        """(alive, why): a stopped run, a pid gone on this host, or beats too old are not alive."""
        if self.mode == "once":
            age = now - self.beat_at
            return age <= max(ONCE_STALE, dt.timedelta(seconds=STALE_INTERVALS * self.interval)), "run --once"
        if self.stopped_at is not None:
            return False, "stopped"
        if self.host == socket.gethostname() and not _pid_alive(self.pid):
            return False, f"pid {self.pid} is gone"
        limit = dt.timedelta(seconds=STALE_INTERVALS * self.interval + 60)
        if now - self.beat_at > limit:
            return False, f"no heartbeat for {ago(now - self.beat_at)}"
        return True, "running"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_heartbeat(db: sqlite3.Connection, *, mode: str, schedule: str, interval: float, now: dt.datetime,
                    started_at: dt.datetime, scanned: bool = False) -> None:
    """Record this process as the one running ``schedule`` (called at every tick)."""
    db.execute(
        "INSERT INTO heartbeat (id, mode, pid, host, version, schedule, started_at, beat_at, scan_at, interval_s, "
        "stopped_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET mode = excluded.mode, "
        "pid = excluded.pid, host = excluded.host, version = excluded.version, schedule = excluded.schedule, "
        "started_at = excluded.started_at, beat_at = excluded.beat_at, "
        "scan_at = coalesce(excluded.scan_at, heartbeat.scan_at), interval_s = excluded.interval_s, stopped_at = NULL",
        (mode, os.getpid(), socket.gethostname(), __version__, schedule, _ts(started_at), _ts(now),
         _ts(now) if scanned else None, float(interval)))


def stop_heartbeat(db: sqlite3.Connection, now: dt.datetime) -> None:
    """A clean exit: the daemon is known to be stopped (not merely silent)."""
    db.execute("UPDATE heartbeat SET stopped_at = ? WHERE pid = ? AND host = ?",
               (_ts(now), os.getpid(), socket.gethostname()))


def read_heartbeat(db: sqlite3.Connection) -> Heartbeat | None:
    try:
        row = db.execute("SELECT mode, pid, host, version, schedule, started_at, beat_at, scan_at, interval_s, "
                         "stopped_at FROM heartbeat WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a database from before m006_cockpit, opened read-only
        return None
    if row is None:
        return None
    return Heartbeat(row[0], row[1], row[2], row[3], row[4], _from_ts(row[5]), _from_ts(row[6]),  # type: ignore[arg-type]
                     _from_ts(row[7]), row[8], _from_ts(row[9]))


def daemon_line(hb: Heartbeat | None, now: dt.datetime, zone) -> str:
    """One line on the daemon for `publisher schedule`: running (pid, host), or not, since when."""
    if hb is None:
        return "`publisher run` has never run on this database: nothing posts these slots"
    alive, note = hb.verdict(now)
    beat = hb.beat_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    if alive and hb.mode == "once":
        return f"`publisher run --once` last ran {beat} (pid {hb.pid} on {hb.host})"
    if alive:
        return f"`publisher run` is running: pid {hb.pid} on {hb.host}, last heartbeat {beat}"
    return f"`publisher run` is NOT running ({note}; last heartbeat {beat}): nothing posts these slots"


# --- what needs a person ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str
    """daemon, needs_attention, failed, held, stuck, account_stopped, credentials, quota_blocked,
    schedule."""
    message: str
    key: str
    """Stable for one event: an alert is sent once per key."""
    publication_id: int | None = None
    platform: str | None = None
    account: str | None = None

    @property
    def event(self) -> str:
        """The alert event this belongs to (schedule.yaml ``notify.events``)."""
        return {"needs_attention": "needs_person", "held": "needs_person", "stuck": "needs_person",
                "account_stopped": "account_stopped", "credentials": "account_stopped", "failed": "failed",
                "quota_blocked": "quota_blocked", "schedule": "unusable", "daemon": "unusable"}.get(self.kind,
                                                                                                   "needs_person")


@dataclass(frozen=True)
class AccountStatus:
    platform: str
    account: str
    posting: bool
    """Enabled, with slots and an enabled account."""
    next_slot: dt.datetime | None = None
    next_post: str | None = None
    """What the next slot is expected to do: a publication, or why nothing."""
    quota: int | None = None
    used: int = 0
    remaining: int | None = None
    budget: float | None = None
    spent: float = 0.0
    stopped: str | None = None
    paused_until: dt.datetime | None = None
    checked_at: dt.datetime | None = None
    handle: str | None = None
    missing_env: tuple[str, ...] = ()


@dataclass
class Status:
    now: dt.datetime
    zone: Any
    zone_name: str
    database: str
    schedule: str | None
    heartbeat: Heartbeat | None
    daemon_alive: bool
    daemon_note: str
    accounts: list[AccountStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def needs_person(self) -> bool:
        return bool(self.problems)

    def show(self, value: dt.datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z") if value else "-"

    def to_json(self) -> dict[str, Any]:
        hb = self.heartbeat
        return {
            "ok": not self.problems,
            "now": self.now.astimezone(self.zone).isoformat(),
            "timezone": self.zone_name,
            "database": self.database,
            "schedule": self.schedule,
            "daemon": {"alive": self.daemon_alive, "note": self.daemon_note,
                       **({"mode": hb.mode, "pid": hb.pid, "host": hb.host, "version": hb.version,
                           "schedule": hb.schedule, "started_at": hb.started_at.isoformat(),
                           "last_beat": hb.beat_at.isoformat(),
                           "last_scan": hb.scan_at.isoformat() if hb.scan_at else None,
                           "stopped_at": hb.stopped_at.isoformat() if hb.stopped_at else None} if hb else {})},
            "accounts": [{**{k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                             for k, v in asdict(a).items()}, "missing_env": list(a.missing_env)}
                         for a in self.accounts],
            "problems": [{"kind": p.kind, "event": p.event, "message": p.message, "publication": p.publication_id,
                          "platform": p.platform, "account": p.account} for p in self.problems],
            "counts": self.counts,
        }


def short(title: str, cells: int = 40) -> str:
    """A title cut to ``cells`` terminal cells (a Chinese character is two), with an ellipsis."""
    from rich.cells import cell_len

    if cell_len(title) <= cells:
        return title
    out, used = "", 0
    for ch in title:
        width = cell_len(ch)
        if used + width > cells - 1:
            break
        out, used = out + ch, used + width
    return out.rstrip() + "…"




def spent_since(outbox: "Outbox", platform: str, since: dt.datetime, prices=None) -> float:
    """Estimated dollars spent on ``platform`` since ``since``, from the posts it recorded."""
    from publisher.schedule.cost import estimate

    rows = outbox.db.execute(
        "SELECT tp.text FROM post_results r JOIN publications p ON p.id = r.publication_id "
        "JOIN thread_posts tp ON tp.thread_id = p.thread_id AND tp.idx = r.idx "
        "WHERE r.platform = ? AND r.posted_at > ?", (platform, _outbox_ts(since))).fetchall()
    return estimate(platform, [r[0] for r in rows], prices).dollars


def _outbox_ts(value: dt.datetime) -> str:
    from publisher.clock import ts

    return ts(value)  # type: ignore[return-value]


def collect(schedule: "Schedule | None", outbox: "Outbox", now: dt.datetime | None = None,
            environ: dict[str, str] | None = None, schedule_file: str | None = None) -> Status:
    """Everything `publisher status` shows, from the database and the schedule."""
    from publisher.queue.owner import owner_status

    now = now or dt.datetime.now(UTC)
    if schedule is not None:
        zone, zone_name = schedule.zone, schedule.timezone
    else:
        local = dt.datetime.now().astimezone()
        zone, zone_name = local.tzinfo, f"{local.tzname()} (this machine's zone: no schedule.yaml)"
    hb = read_heartbeat(outbox.db)
    status = Status(now=now, zone=zone, zone_name=zone_name, database=str(outbox.path),
                    schedule=schedule_file or (str(schedule.file) if schedule is not None and schedule.file else None),
                    heartbeat=hb, daemon_alive=False, daemon_note="never ran on this database")
    status.counts = outbox.counts()
    problems = status.problems
    active = schedule.active_platforms() if schedule is not None else []
    if hb is not None:
        status.daemon_alive, status.daemon_note = hb.verdict(now)
    if not status.daemon_alive and active:
        what = ("`publisher run` has never run on this database" if hb is None else
                f"the last `publisher run --once` was {ago(now - hb.beat_at)} ago" if hb.mode == "once" else
                f"`publisher run` is not running ({status.daemon_note}; last heartbeat {status.show(hb.beat_at)})")
        problems.append(Problem("daemon", f"{what}: nothing is posted in the slots",
                                key=f"daemon:{hb.started_at.isoformat() if hb else 'never'}"))

    # Publications that wait for a person.
    sources = schedule.sources if schedule is not None else ()
    for row in outbox.rows(["needs_attention", "publishing", "draft", "failed"]):
        label = f"publication {row.id} ({row.platform}, {short(row.title)})"
        if row.state == "needs_attention":
            unknown = row.unknown_index is not None
            kind = "needs_attention" if unknown else "failed"
            problems.append(Problem(kind, f"{label}: {row.note or 'needs a person'}",
                                    key=f"{kind}:{row.id}:{row.attempts}:{row.unknown_index}:{row.note}",
                                    publication_id=row.id, platform=row.platform, account=row.account))
        elif row.state == "publishing":
            state = owner_status(row.owner)
            if state != "alive":
                why = ("its process is gone (settled at the next `publisher queue` or run)" if state == "dead" else
                       "held by a process on another machine or container that cannot be checked from here; "
                       f"if it is gone: `publisher resolve {row.id} --release-claim`")
                problems.append(Problem("stuck", f"{label}: claimed since {status.show(row.claimed_at)}, {why}",
                                        key=f"stuck:{row.id}:{row.owner}", publication_id=row.id,
                                        platform=row.platform, account=row.account))
        elif row.state == "draft" and schedule is not None and sources:
            source = schedule.source_for(row.path)
            if source is not None and source.auto_approve:
                problems.append(Problem("held", f"{label}: from auto-approving {source.path}, held for a person "
                                                f"(`publisher show {row.id}`, then approve or edit)",
                                        key=f"held:{row.id}", publication_id=row.id, platform=row.platform,
                                        account=row.account))

    if schedule is not None:
        _accounts(schedule, outbox, now, environ, status)
    return status


def _accounts(schedule: "Schedule", outbox: "Outbox", now: dt.datetime, environ, status: Status) -> None:
    from publisher.schedule.cost import Prices
    from publisher.schedule.rules import forecast
    from publisher.schedule.slots import DAY, remaining_quota
    from publisher.schedule.store import OutboxScheduleStore

    store = OutboxScheduleStore(outbox)
    planned = forecast(schedule, store, now, now + dt.timedelta(days=8), environ)
    prices = Prices.of(schedule)
    for platform, config in schedule.platforms.items():
        found = schedule.account_for(platform)
        if found is None:
            continue
        name, account = found
        posting = platform in schedule.active_platforms()
        state = outbox.account_state(platform)
        times = [t for t in outbox.post_times(platform, now - DAY) if t <= now]
        quota = schedule.quota_for(platform)
        mine = [p for p in planned if p.slot.platform == platform]
        first = mine[0] if mine else None
        if first is None:
            next_post = None if posting else "no slots"
        elif first.item is not None:
            next_post = f"publication {first.item.publication_id} ({first.item.posts} posts): {short(first.item.title)}"
        else:
            next_post = f"{first.outcome}: {first.detail}"
            taker = next((p for p in mine if p.item is not None), None)
            if taker is not None:
                when = taker.slot.local.strftime("%Y-%m-%d %H:%M %Z")
                next_post += (f"; then {when}: publication {taker.item.publication_id} ({taker.item.posts} posts): "
                              f"{short(taker.item.title)}")
        missing = tuple(schedule.missing_credentials(platform, environ)) if posting else ()
        budget = account.daily_budget
        spent = spent_since(outbox, platform, now - DAY, prices) if budget is not None else 0.0
        paused = state.paused_until if state.paused_until and state.paused_until > now else None
        acc = AccountStatus(platform, name, posting, first.slot.at if first else None, next_post, quota, len(times),
                            remaining_quota(quota, times, now), budget, spent, state.blocked_reason, paused,
                            state.checked_at, state.handle, missing)
        status.accounts.append(acc)
        who = f"{platform}/{name}"
        if state.blocked_reason:
            status.problems.append(Problem("account_stopped", f"{who} is stopped: {state.blocked_reason}",
                                           key=f"stopped:{platform}:{name}:{state.blocked_reason}",
                                           platform=platform, account=name))
        if missing:
            status.problems.append(Problem("credentials", f"{who}: missing environment variable "
                                                          f"{', '.join(missing)}: its slots post nothing",
                                           key=f"credentials:{platform}:{name}:{','.join(missing)}",
                                           platform=platform, account=name))
        # An approved thread the quota keeps out of every slot of the next 24 hours.
        day = [p for p in mine if p.slot.at <= now + DAY]
        blocked = (posting and not missing and not state.blocked_reason and day
                   and not any(p.item is not None for p in day)
                   and any(p.outcome in ("quota", "budget") for p in day))
        waiting = list(store.waiting(platform, now)) if blocked else []  # (only then: it is the slow query)
        if waiting:
            item = waiting[0]
            detail = next(p.detail for p in day if p.outcome in ("quota", "budget"))
            status.problems.append(Problem(
                "quota_blocked", f"{who}: publication {item.publication_id} ({short(item.title)}) is held back by the "
                                 f"quota or budget for the next 24 hours: {detail}",
                key=f"quota:{item.publication_id}:{(now.astimezone(schedule.zone)).date().isoformat()}",
                publication_id=item.publication_id, platform=platform, account=name))
