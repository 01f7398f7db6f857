"""`publisher run`: watch the sources, and post approved threads in the schedule's slots.

The database is the source of truth; APScheduler is only the clock that wakes us up.

* An interval job (every ``scan_every``) reloads schedule.yaml when it changed, scans the
  sources for new or changed article files and ingests them, and checks for slots that came
  due (missed ones included).
* One job per configured slot time fires at that slot (the trigger uses this module's own slot
  arithmetic, so the daylight-saving rules of :mod:`publisher.schedule` hold) and runs
  :meth:`Daemon.tick`.

What a tick does for a platform is decided from the database alone: the **slot ledger** (table
``schedule_slots``, one row per slot handled, written BEFORE anything is claimed) says which
slots were already handled, so a slot is used at most once however many times a tick runs, by
the daemon, by ``--once`` from cron, or after a restart. Missed slots follow ``misfire``:
catch up one, or skip; never a burst.

Safety:

* A lock (an exclusive ``fcntl`` lock on ``<database>.lock``) keeps two runs on one database
  from both posting; ``--once`` takes it too.
* SIGTERM/SIGINT stop cleanly: no new work starts, a thread being posted stops after the post
  in flight (the publisher is asked through ``should_stop``), and what is left is in a state the
  next start resolves (the outbox resumes a partly posted thread at its first unposted post).

The outbox and the ingest pipeline are reached through the small interfaces below
(:class:`ScheduleStore`, :data:`PublishFn`, :data:`IngestFn`), so tests pass fakes and the real
adapters live in :func:`build_daemon`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from publisher.errors import ConfigError, ModelError, PublisherError
from publisher.schedule.config import (
    DAY,
    UTC,
    DuePlan,
    Schedule,
    ScheduleError,
    Slot,
    Source,
    load_schedule,
    next_occurrence,
    next_slots,
    plan_due,
    quota_frees_at,
    remaining_quota,
    slots_between,
)

log = logging.getLogger("publisher.daemon")

#: How far back a tick looks for missed slots when the ledger is older than that (or empty).
MAX_LOOKBACK = dt.timedelta(days=7)


# --- what the daemon needs from the rest of publisher -----------------------------------------


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


@dataclass(frozen=True)
class PostingAccount:
    """Which account a platform posts through, and the NAMES of its credential variables."""

    platform: str
    name: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishOutcome:
    state: str
    """The publication's state afterwards: posted, failed, needs_attention, scheduled (rate
    limited), approved (stopped between posts: resumes at the next start), or error."""
    posts_sent: int = 0
    detail: str = ""


@dataclass(frozen=True)
class IngestResult:
    """What ingesting one file did (the outbox's answer, reduced to what is logged)."""

    status: str
    """new, revised, unchanged, skipped (not Chinese) or failed."""
    article_id: int | None = None
    publication_ids: tuple[int, ...] = ()
    approved: tuple[int, ...] = ()
    detail: str = ""
    thread_ids: tuple[int, ...] = ()
    """Parallel to ``publication_ids``."""


class ScheduleStore(Protocol):
    """The outbox, as the scheduler sees it (:class:`OutboxStore` adapts publisher.queue.outbox)."""

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


PublishFn = Callable[[QueuedThread, PostingAccount, Callable[[], bool]], PublishOutcome]
"""Publish (the rest of) one CLAIMED publication; the callable says when to stop between posts."""

IngestFn = Callable[[Path, Source, dt.datetime], IngestResult]
"""Ingest one article file found in a source (drafts, or approved when the source says so)."""


# --- clocks ----------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class ShiftedClock:
    """Time that starts at ``start`` and runs at the speed of the real clock (``--now``)."""

    def __init__(self, start: dt.datetime):
        self._start = start.astimezone(UTC)
        self._anchor = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._anchor)


#: How far ahead of the real clock ``--now`` may be (a slot time typed a moment early).
NOW_GRACE = dt.timedelta(minutes=1)


class ClockRefused(PublisherError):
    """``--now`` would run this database's time ahead of the real clock, or backwards."""


def latest_recorded(db: sqlite3.Connection) -> dt.datetime | None:
    """The latest instant a database recorded: a post made (``post_results``) or a slot handled
    (the slot ledger). Time read from the clock must never go back before it."""
    from publisher.queue.outbox import from_ts

    found: list[dt.datetime] = []
    row = db.execute("SELECT max(posted_at) FROM post_results").fetchone()
    if row and row[0]:
        found.append(from_ts(row[0]))  # type: ignore[arg-type]
    row = db.execute("SELECT max(slot_at), max(handled_at) FROM schedule_slots").fetchone()
    found += [_from_iso(v) for v in (row or ()) if v]
    return max(found) if found else None


def check_now(start: dt.datetime, real_now: dt.datetime, latest: dt.datetime | None, zone=UTC) -> None:
    """Refuse a ``--now`` that would make the run unsafe on this database (:class:`ClockRefused`).

    ``--now`` posts for real and stamps what it does (posts, handled slots, approvals) with the
    shifted time. Later than the real clock, the daemon would then skip every real slot until
    that time; earlier than what the database already recorded, posts would be counted before
    (or outside) the rolling 24-hour quota window and the platform's daily cap overrun.
    """
    def local(instant: dt.datetime) -> str:
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    scratch = "for a rehearsal use a scratch database (PUBLISHER_DB=/tmp/rehearsal.db publisher run --once --now ...)"
    if start > real_now + NOW_GRACE:
        raise ClockRefused(f"--now {local(start)} is later than the clock ({local(real_now)}): this database would "
                           "record posts and slots from the future and the daemon would skip every real slot "
                           f"until then; {scratch}")
    if latest is not None and start < latest:
        raise ClockRefused(f"--now {local(start)} is earlier than the latest time this database recorded "
                           f"({local(latest)}): time never goes backwards on one database, or posts would fall out "
                           f"of the 24-hour quota early; {scratch}")


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime):
        self._now = start.astimezone(UTC)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, **kwargs: float) -> dt.datetime:
        self._now += dt.timedelta(**kwargs)
        return self._now


# --- the lock --------------------------------------------------------------------------------


class LockHeld(PublisherError):
    """Another `publisher run` is working on the same database."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class DaemonLock:
    """An exclusive lock next to the database, held while a run may post.

    ``fcntl.flock`` on ``<database>.lock``: the kernel releases it when the process dies, so a
    crash never leaves a stale lock behind. The file holds the owner's pid for messages.
    """

    def __init__(self, db: Path):
        self.path = Path(str(db) + ".lock")
        self._fd: int | None = None
        self._socket = None

    def _bind_name(self):
        """Also hold an abstract Unix socket named after the database (Linux): the kernel frees it
        when the process dies, and no file operation can remove it, so deleting the .lock file
        does not let a second run in."""
        import hashlib
        import socket

        if not hasattr(socket, "AF_UNIX") or not sys.platform.startswith("linux"):
            return None
        key = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:32]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind("\0publisher-lock-" + key)
        except OSError:
            sock.close()
            raise
        return sock

    def acquire(self) -> "DaemonLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._socket = self._bind_name()
        except OSError:
            try:
                owner = self.path.read_text(errors="replace").strip() or "?"
            except OSError:
                owner = "?"
            raise LockHeld(f"another publisher run (pid {owner}) is using {self.path.with_suffix('')}; "
                           "only one may post at a time") from None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                owner = os.read(fd, 64).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
                if self._socket is not None:
                    self._socket.close()
                    self._socket = None
            raise LockHeld(f"another publisher run (pid {owner}) is using {self.path.with_suffix('')}; "
                           "only one may post at a time") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> "DaemonLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# --- the slot ledger -------------------------------------------------------------------------


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class LedgerRow:
    platform: str
    slot_at: dt.datetime
    handled_at: dt.datetime
    outcome: str
    publication_id: str | None
    detail: str


class SlotLedger:
    """Which slots were handled, in the queue database (table ``schedule_slots``).

    A row is written before a slot's thread is claimed, so a slot can never be used twice;
    a crash between the row and the claim costs one slot, never a duplicate post.
    """

    def __init__(self, db: Path | str):
        from publisher.queue.database import is_postgres, target
        from publisher.queue.schema import apply

        self.db = target(db)
        if not is_postgres(self.db):
            from publisher.queue.db import create_private, private_folder

            private_folder(self.db.parent)
            create_private(self.db)
        with self._connect() as conn:
            apply(conn, dt.datetime.now(dt.timezone.utc).isoformat())  # m002_schedule_slots

    def _connect(self) -> sqlite3.Connection:
        from publisher.queue.database import connect

        return connect(self.db, existing=True)  # SQLite: never a fresh empty file in place of a deleted one

    def last(self, platform: str, now: dt.datetime | None = None) -> dt.datetime | None:
        """The latest slot handled for ``platform``. With ``now``, a slot recorded later than now
        (beyond clockfix.TOLERANCE: the clock was wrong when it was recorded) is not trusted."""
        query, args = "SELECT max(slot_at) FROM schedule_slots WHERE platform = ?", [platform]
        if now is not None:
            from publisher.queue.clockfix import TOLERANCE

            query += " AND slot_at <= ?"
            args.append(_iso(now + TOLERANCE))
        with self._connect() as conn:
            row = conn.execute(query, args).fetchone()
        return _from_iso(row[0]) if row and row[0] else None

    def begin(self, platform: str, slot_at: dt.datetime, now: dt.datetime) -> bool:
        """Take a slot; False when it was already taken."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO schedule_slots (platform, slot_at, handled_at, outcome) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (platform, slot_at) DO NOTHING",
                (platform, _iso(slot_at), _iso(now), "started"))
            return cur.rowcount == 1

    def finish(self, platform: str, slot_at: dt.datetime, outcome: str, *, publication_id: object = None,
               detail: str = "") -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE schedule_slots SET outcome = ?, publication_id = coalesce(?, publication_id), detail = ? "
                "WHERE platform = ? AND slot_at = ?",
                (outcome, None if publication_id is None else str(publication_id), detail, platform, _iso(slot_at)))

    def record(self, platform: str, slot_at: dt.datetime, now: dt.datetime, outcome: str, detail: str = "") -> bool:
        """Take a slot and close it at once (missed, skipped...); False when already taken."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO schedule_slots (platform, slot_at, handled_at, outcome, detail) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, slot_at) DO NOTHING", (platform, _iso(slot_at), _iso(now), outcome, detail))
            return cur.rowcount == 1

    def rows(self, platform: str | None = None) -> list[LedgerRow]:
        query = "SELECT platform, slot_at, handled_at, outcome, publication_id, detail FROM schedule_slots"
        args: tuple = ()
        if platform:
            query += " WHERE platform = ?"
            args = (platform,)
        with self._connect() as conn:
            found = conn.execute(query + " ORDER BY slot_at, platform", args).fetchall()
        return [LedgerRow(p, _from_iso(s), _from_iso(h), o, pid, d) for p, s, h, o, pid, d in found]


class ReportedFiles:
    """Bad article file versions already reported (table ``reported_files``, in the queue database).

    The scanner's memory lasts one process; this one lasts across runs, so that with cron's
    ``publisher run --once`` every few minutes a file that stays bad is reported once, and again
    only when its content (or the problem found in it) changes.
    """

    def __init__(self, db: Path | str):
        from publisher.queue.database import is_postgres, target
        from publisher.queue.schema import apply

        self.db = target(db)
        if not is_postgres(self.db):
            from publisher.queue.db import create_private, private_folder

            private_folder(self.db.parent)
            create_private(self.db)
        with self._connect() as conn:
            apply(conn, dt.datetime.now(dt.timezone.utc).isoformat())  # m003_reported_files
            self._paths = {row[0] for row in conn.execute("SELECT DISTINCT path FROM reported_files")}

    def _connect(self) -> sqlite3.Connection:
        from publisher.queue.database import connect

        return connect(self.db, existing=True)  # SQLite: never a fresh empty file in place of a deleted one

    @staticmethod
    def _key(path: Path) -> str:
        return str(Path(path).resolve())

    @staticmethod
    def fingerprint(path: Path) -> str:
        """The content's SHA-256 (for a file that cannot be read: its size and modification time)."""
        import hashlib

        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            try:
                st = Path(path).stat()
            except OSError:
                return "missing"
            return f"unreadable:{st.st_size}:{st.st_mtime_ns}"

    def first_report(self, path: Path, message: str, now: dt.datetime) -> bool:
        """Record that ``message`` was found in this version of ``path``; False when it was
        already reported (the caller then stays quiet)."""
        key, digest = self._key(path), self.fingerprint(path)
        with self._connect() as conn:
            row = conn.execute("SELECT message FROM reported_files WHERE path = ? AND content_hash = ?",
                               (key, digest)).fetchone()
            if row is not None and row[0] == message:
                return False
            conn.execute("INSERT INTO reported_files (path, content_hash, message, reported_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (path, content_hash) DO UPDATE SET message = excluded.message, "
                         "reported_at = excluded.reported_at", (key, digest, message, _iso(now)))
        self._paths.add(key)
        return True

    def crashed(self, path: Path) -> bool:
        """This version of ``path`` already crashed (or hung) the translation worker: it is not
        tried again until it changes (each try could cost the whole time-out)."""
        from publisher.translate.isolate import is_crash_message

        key = self._key(path)
        if key not in self._paths:
            return False
        with self._connect() as conn:
            row = conn.execute("SELECT message FROM reported_files WHERE path = ? AND content_hash = ?",
                               (key, self.fingerprint(path))).fetchone()
        return row is not None and is_crash_message(row[0])

    def forget(self, path: Path) -> None:
        """The file was ingested: a later bad version of it is news again."""
        key = self._key(path)
        if key in self._paths:
            with self._connect() as conn:
                conn.execute("DELETE FROM reported_files WHERE path = ?", (key,))
            self._paths.discard(key)


# --- schedule.yaml, reloaded when it changes ---------------------------------------------------


class ScheduleWatcher:
    """Holds the current schedule; :meth:`poll` reloads it when the file changed.

    A changed file that does not validate is reported (once per version) and the previous
    schedule stays in force.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp = self._stat()
        self.schedule: Schedule = load_schedule(self.path)
        self._bad_stamp: tuple | None = None
        self.problems: list[str] = []
        """Why the file on disk is not in force (it does not validate, or it disappeared)."""

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def poll(self) -> bool:
        """Reload if the file changed; True when a new schedule took effect."""
        stamp = self._stat()
        if stamp == self._stamp or stamp == self._bad_stamp:
            return False
        if stamp is None:
            self._bad_stamp = None
            log.error("%s: the schedule file disappeared; keeping the previous schedule", self.path)
            self.problems = [f"{self.path}: the schedule file disappeared"]
            self._stamp = None
            return False
        try:
            new = load_schedule(self.path)
        except ScheduleError as exc:
            self._bad_stamp = stamp
            self.problems = list(exc.problems)
            for problem in exc.problems:
                log.error("%s (keeping the previous schedule)", problem)
            return False
        self._stamp, self._bad_stamp = stamp, None
        self.problems = []
        self.schedule = new
        log.info("schedule reloaded from %s", self.path)
        return True


# --- scanning the sources ----------------------------------------------------------------------


class SourceScanner:
    """Finds article files that are new or changed since the last scan of this process.

    A file is offered to ingest once per version (size and modification time); the ingest step
    itself recognises content it already has, so a restart re-offering every file is harmless.
    A file modified less than ``settle`` seconds ago may still be being written: it waits for the
    next scan.
    """

    def __init__(self, settle: float = 2.0):
        self.settle = settle
        self._seen: dict[Path, tuple[int, int]] = {}

    def changed(self, schedule: Schedule) -> list[tuple[Path, Source]]:
        from publisher.articles.read import ARTICLE_SUFFIXES

        found: list[tuple[Path, Source]] = []
        offered: set[Path] = set()
        now = time.time()
        for source in schedule.sources:
            folder = schedule.source_dir(source)
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if any(part.startswith(".") for part in rel.parts) or path.name.endswith(".en.md"):
                    continue
                if path.suffix.lower() not in ARTICLE_SUFFIXES or not path.is_file():
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                if self._seen.get(path) == stamp or now - st.st_mtime < self.settle:
                    continue
                if path in offered or (schedule.source_for(path) or source) is not source:
                    continue  # nested sources: the innermost one holding the file decides
                offered.add(path)
                found.append((path, source))
        return found

    def done(self, path: Path) -> None:
        """Remember the file's current version as handled (ingested, or reported as bad)."""
        try:
            st = path.stat()
        except OSError:
            return
        self._seen[path] = (st.st_mtime_ns, st.st_size)


# --- the daemon ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotOutcome:
    """What happened in one slot (also one ledger row and one log line)."""

    platform: str
    slot: Slot | None
    """None for an interrupted thread that was resumed outside any slot."""
    outcome: str
    """posted, failed, needs_attention, scheduled (rate-limited), approved (stopped midway),
    idle (nothing approved), quota, min_gap, quiet, credentials, account (blocked or paused),
    disabled, missed, error."""
    publication: QueuedThread | None = None
    detail: str = ""
    late: bool = False


def _local(instant: dt.datetime, schedule: Schedule) -> str:
    return instant.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


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


def decide(schedule: Schedule, platform: str, at: dt.datetime, post_times: Sequence[dt.datetime],
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
        return Decision("min_gap", detail=f"last post {_ago(at - recent[-1])} before, min_gap {_ago(gap)}")
    if not candidates:
        return Decision("idle", detail="nothing approved")
    quota = schedule.quota_for(platform)
    remaining = remaining_quota(quota, recent, at)
    item = choose(candidates, _min(remaining, platform_left), None if gate is None else lambda c: gate.fits(c, at))
    if item is not None:
        return Decision("post", item)
    if gate is not None:  # the quota would take one, the daily budget does not (publisher.schedule.budget)
        within = choose(candidates, _min(remaining, platform_left))
        if within is not None:
            return Decision("budget", detail=gate.detail(within, at))
    first = candidates[0]
    if platform_left is not None and (remaining is None or platform_left < remaining):
        return Decision("quota", detail=f"next thread {first.thread_id} needs {first.posts} posts; {platform} says "
                                        f"{platform_left} are left in its 24-hour window")
    frees = quota_frees_at(quota, recent, at, first.posts)
    return Decision("quota", detail=(
        f"next thread {first.thread_id} needs {first.posts} posts, {remaining} of {quota} left"
        + (f" (enough from {_local(frees, schedule)})" if frees else
           " (more than the daily quota: it can never be posted whole)")))


def _min(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


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


def quota_status(schedule: Schedule, store: ScheduleStore, now: dt.datetime,
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


def forecast(schedule: Schedule, store: ScheduleStore, now: dt.datetime, until: dt.datetime,
             environ: dict[str, str] | None = None) -> list[PlannedSlot]:
    """The coming slots in (now, until] and the thread each would take, if nothing changes.

    Simulates the daemon: each assigned thread uses quota from its slot on, for 24 hours.
    """
    planned: list[PlannedSlot] = []
    queues = {p: list(store.waiting(p, now)) for p in schedule.active_platforms()}
    times = {p: list(store.post_times(p, now - DAY)) for p in queues}
    missing = {p: schedule.missing_credentials(p, environ) for p in queues}
    problems = {p: store.account_problem(p, now) for p in queues}
    from publisher.schedule.budget import gate as budget_gate

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


def schedule_problems(schedule: Schedule, store: ScheduleStore | None = None,
                      now: dt.datetime | None = None) -> list[str]:
    """What in the schedule silently does nothing, one line each: a source folder that does
    not exist, an enabled platform with no slots (its approved threads would wait forever), a
    platform with slots but no enabled account, and (with ``store``) approved threads waiting
    for a platform that has no slot to post them in. Said at start, on reload and by
    ``publisher schedule``."""
    from publisher.schedule.config import PLATFORMS

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


class Daemon:
    """The scheduler's decisions, independent of APScheduler: :meth:`tick` and :meth:`scan`."""

    def __init__(self, *, watcher: ScheduleWatcher, store: ScheduleStore, publish: PublishFn,
                 ingest: IngestFn | None, ledger: SlotLedger, clock: Clock | None = None,
                 scanner: SourceScanner | None = None, environ: dict[str, str] | None = None,
                 reported: ReportedFiles | None = None, monitor=None):
        self.watcher = watcher
        self.monitor = monitor
        """A :class:`publisher.cockpit.monitor.Monitor` (heartbeat, systemd, alerts), or None."""
        self.store = store
        self.publish = publish
        self.ingest = ingest
        self.ledger = ledger
        self.watch = None  # a storage.DatabaseWatch: the daemon stops when the database is deleted
        self.fatal: str | None = None  # why the daemon stopped on its own
        self.clock = clock or SystemClock()
        self.scanner = scanner or SourceScanner()
        self.environ = environ
        self._reported = reported
        self.stopping = threading.Event()
        self._noted: set[tuple] = set()
        # One piece of work at a time (re-entrant: a long scan handles slots between files).
        self._work = threading.RLock()

    @property
    def schedule(self) -> Schedule:
        return self.watcher.schedule

    @property
    def reported(self) -> ReportedFiles:
        """Bad files already reported, kept in the ledger's database (made on first use)."""
        if self._reported is None:
            self._reported = ReportedFiles(self.ledger.db)
        return self._reported

    def announce(self) -> list[str]:
        """Log what in the schedule silently does nothing (at start and after each reload)."""
        problems = schedule_problems(self.schedule, self.store, self.clock.now())
        for line in problems:
            log.warning("%s", line)
        return problems

    # --- sources ---

    def scan(self) -> list[IngestResult]:
        """Ingest new or changed files from every source; one bad file never stops the others.

        Feeds and pages of the sources whose poll time came are fetched first (publisher.feeds);
        the files they write are ingested by the next scan, once settled like any other file."""
        if any(s.feed or s.pages for s in self.schedule.sources):
            from publisher.feeds.poll import poll_sources

            with self._work:
                poll_sources(self.schedule, self.ledger.db, self.clock.now(), between=self.tick,
                             should_stop=self.stopping.is_set)
        if self.ingest is None:
            return []
        results: list[IngestResult] = []
        with self._work:
            for path, source in self.scanner.changed(self.schedule):
                if self.stopping.is_set():
                    break
                if self.reported.crashed(path):
                    self.scanner.done(path)
                    log.debug("ingest %s: crashed the translation worker before; skipped until it changes", path)
                    continue
                try:
                    result = self.ingest(path, source, self.clock.now())
                except (ModelError, ConfigError) as exc:
                    # Not the file's fault (no model, a setting): say it once, retry next scan.
                    self._note_once(("ingest", str(exc)), f"ingest {_about(path, str(exc))} (will try again)")
                    results.append(IngestResult("failed", detail=str(exc)))
                    continue
                except PublisherError as exc:
                    from publisher.errors import NotChinese

                    # not Chinese: skipped, the verdict `publisher ingest` and `translate` give
                    result = IngestResult("skipped" if isinstance(exc, NotChinese) else "failed", detail=str(exc))
                except Exception as exc:  # a bug; report it and go on with the other files
                    if os.environ.get("PUBLISHER_DEBUG"):
                        log.exception("ingest %s: internal error (traceback follows)", path)
                    result = IngestResult("failed", detail=f"internal error {type(exc).__name__}: {exc}")
                self.scanner.done(path)
                results.append(result)
                if result.status not in ("failed", "skipped"):
                    self.reported.forget(path)
                    self._log_ingest(path, result)
                elif self.reported.first_report(path, result.detail, self.clock.now()):
                    self._log_ingest(path, result)
                else:  # this version of the file was reported by an earlier run (cron's --once)
                    log.debug("ingest %s (still failing, already reported)", _about(path, result.detail))
                self.tick()  # a long scan (translating many files) must not make a slot late
            self._beat(scanned=True)
        return results

    def _log_ingest(self, path: Path, result: IngestResult) -> None:
        pubs = ",".join(f"{p} (thread {t})" if t is not None else str(p) for p, t in
                        zip(result.publication_ids, result.thread_ids or [None] * len(result.publication_ids))) or "-"
        if result.status == "failed":
            log.error("ingest %s", _about(path, result.detail))
        elif result.status == "skipped":
            log.info("ingest %s (skipped)", _about(path, result.detail))
        elif result.status == "unchanged" and not result.publication_ids:
            log.debug("ingest %s: unchanged (article %s)", path, result.article_id)
        else:
            approved = ",".join(str(t) for t in result.approved)
            log.info("ingest %s: %s article %s publications %s%s%s", path, result.status, result.article_id, pubs,
                     f", approved {approved}" if approved else ", waiting for approval",
                     f" ({result.detail})" if result.detail else "")

    # --- slots ---

    def continue_due(self) -> list[SlotOutcome]:
        """Settle what a dead process left, then do the work due outside the slots.

        Partly posted threads are finished, retries run when their time comes, and a thread
        approved for an explicit time goes out at that time; all within the quota (the whole
        rest of the thread must fit), none of it using up a slot. What has nothing out yet
        waits for the end of the quiet hours; a thread already partly out is finished.
        """
        outcomes: list[SlotOutcome] = []
        with self._work:
            now = self.clock.now()
            for line in self.store.recover(now):
                log.warning("recovered: %s", line)
            schedule = self.schedule
            for platform in schedule.platforms:
                if self.stopping.is_set():
                    break
                items = list(self.store.continuing(platform, now))
                if not items:
                    continue
                account = self._account(platform)
                if account is None:
                    self._note_once(("disabled", platform), f"{platform}: {len(items)} publications are due but the "
                                    "platform has no enabled account in the schedule")
                    continue
                missing = schedule.missing_credentials(platform, self.environ)
                if missing:
                    self._note_once(("credentials", platform), f"{platform}: {len(items)} publications are due; "
                                    f"missing environment variable {', '.join(missing)}")
                    continue
                for item in items:
                    if self.stopping.is_set():
                        break
                    now = self.clock.now()
                    if not item.posted and schedule.is_quiet(now):
                        # Nothing of it is out yet: it can wait for the end of the quiet hours.
                        self._note_once(("quiet", item.publication_id), f"{platform}: {item.ids()} is due; waits "
                                        f"for the end of the quiet hours ({schedule.quiet_hours})", logging.INFO)
                        continue
                    recent = list(self.store.post_times(platform, now - DAY))
                    left = _min(remaining_quota(schedule.quota_for(platform), recent, now),
                                self.store.platform_remaining(platform, now))
                    if left is not None and item.posts > left:
                        self._note_once(("quota", item.publication_id, left),
                                        f"{platform}: {item.ids()} waits for quota: {item.posts} posts to send, "
                                        f"{left} left", logging.WARNING)
                        continue
                    from publisher.schedule.budget import gate as budget_gate

                    gate = budget_gate(schedule, platform, self.store, now)
                    if gate is not None and not gate.fits(item, now):
                        self._note_once(("budget", item.publication_id), f"{platform}: {item.ids()} waits for "
                                        f"budget: {gate.detail(item, now)}", logging.WARNING)
                        continue
                    what = "resuming" if item.posted else "retrying" if item.state == "failed" else "publishing"
                    if not self._claim(platform, item.publication_id, now, f"{what} ({item.state}) by publisher run",
                                       schedule):
                        continue
                    log.info("%s: %s %s (%s, %d posts to send)", platform, what, item.ids(), item.state, item.posts)
                    result = self._publish(item, account)
                    self._log_result(platform, "continued", item, result)
                    outcomes.append(SlotOutcome(platform, None, result.state, item, result.detail))
        return outcomes

    def _claim(self, platform: str, publication_id: int, now: dt.datetime, reason: str, schedule) -> bool:
        """The store's claim. The real outbox re-checks the 24-hour quota inside the claim's
        transaction: with the queue on a server, another host may have spent it meanwhile."""
        if isinstance(self.store, OutboxStore):
            return self.store.claim(publication_id, now, reason, quota=schedule.quota_for(platform))
        return self.store.claim(publication_id, now, reason)

    def _note_once(self, key: tuple, message: str, level: int = logging.ERROR) -> None:
        """Log a standing condition once, not at every tick."""
        if key not in self._noted:
            self._noted.add(key)
            log.log(level, message)

    def _log_result(self, platform: str, what: str, item: QueuedThread, result: PublishOutcome) -> None:
        log.log(logging.INFO if result.state == "posted" else logging.WARNING, "%s: %s %s: %s, %d posts sent%s",
                platform, what, item.ids(), result.state, result.posts_sent,
                f"; {result.detail}" if result.detail else "")

    def _beat(self, scanned: bool = False) -> None:
        if self.monitor is not None:
            self.monitor.beat(scanned=scanned)

    def tick(self, platforms: Iterable[str] | None = None) -> list[SlotOutcome]:
        """Handle every slot that is due now (misfire policy applied), for all or some platforms."""
        outcomes: list[SlotOutcome] = []
        with self._work:
            schedule = self.schedule
            names = list(platforms) if platforms is not None else schedule.active_platforms()
            for platform in names:
                if self.stopping.is_set():
                    break
                if platform not in schedule.active_platforms():
                    continue
                now = self.clock.now()
                last = self.ledger.last(platform, now)
                start = max(last, now - MAX_LOOKBACK) if last else now - schedule.misfire_grace
                due = slots_between(schedule, start, now, platforms=[platform])
                plan = plan_due(due, now, policy=schedule.misfire, grace=schedule.misfire_grace)
                outcomes.extend(self._carry_out(platform, plan, now))
            self._beat()  # after the slots: the monitor's look at the queue never makes a slot late
        return outcomes

    def _carry_out(self, platform: str, plan: DuePlan, now: dt.datetime) -> list[SlotOutcome]:
        schedule = self.schedule
        outcomes: list[SlotOutcome] = []
        if plan.run is not None and plan.late and schedule.is_quiet(now):
            # A catch-up waits for the end of the quiet hours (unless a newer slot comes first).
            self._note_once(("catch-up", platform, plan.run.at),
                            f"{platform}: slot {_local(plan.run.at, schedule)} was missed; catching up after the "
                            f"quiet hours ({schedule.quiet_hours})", logging.INFO)
            missed = list(plan.missed)
            plan = DuePlan(None, False, ())
        else:
            missed = list(plan.missed)
        for slot in missed:
            if self.ledger.record(platform, slot.at, now, "missed",
                                  f"missed by {_ago(now - slot.at)}; policy {schedule.misfire}"):
                outcomes.append(SlotOutcome(platform, slot, "missed"))
                log.warning("%s: slot %s missed (%s late), not posted: misfire policy %s", platform,
                            _local(slot.at, schedule), _ago(now - slot.at), schedule.misfire)
        if plan.run is not None:
            outcome = self._run_slot(platform, plan.run, now, plan.late)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _account(self, platform: str) -> PostingAccount | None:
        found = self.schedule.account_for(platform)
        if found is None:
            return None
        return PostingAccount(platform, found[0], self.schedule.credential_env(platform))

    def _run_slot(self, platform: str, slot: Slot, now: dt.datetime, late: bool) -> SlotOutcome | None:
        schedule = self.schedule
        when = _local(slot.at, schedule) + (f" (caught up {_ago(now - slot.at)} late)" if late else "")
        if not self.ledger.begin(platform, slot.at, now):
            return None

        def close(outcome: str, detail: str = "", item: QueuedThread | None = None, level=logging.INFO) -> SlotOutcome:
            self.ledger.finish(platform, slot.at, outcome, publication_id=item.publication_id if item else None,
                               detail=detail)
            log.log(level, "%s: slot %s: %s%s%s", platform, when, outcome,
                    f" {item.ids()}" if item else "", f": {detail}" if detail else "")
            return SlotOutcome(platform, slot, outcome, item, detail, late)

        account = self._account(platform)
        if account is None:
            return close("disabled", "no enabled account")
        missing = schedule.missing_credentials(platform, self.environ)
        if missing:
            return close("credentials", "missing environment variable " + ", ".join(missing), level=logging.ERROR)
        problem = self.store.account_problem(platform, now)
        if problem:
            return close("account", problem, level=logging.ERROR)
        recent = list(self.store.post_times(platform, now - DAY))
        candidates = list(self.store.waiting(platform, now))
        platform_left = self.store.platform_remaining(platform, now)
        from publisher.schedule.budget import gate as budget_gate

        gate = budget_gate(schedule, platform, self.store, now)
        while True:
            decision = decide(schedule, platform, now, recent, candidates, platform_left, gate=gate)
            if decision.item is None:
                return close(decision.outcome, decision.detail,
                             level=logging.WARNING if decision.outcome in ("quota", "budget") else logging.INFO)
            item = decision.item
            if self._claim(platform, item.publication_id, now, f"slot {when} by publisher run", schedule):
                break
            candidates.remove(item)  # approval withdrawn meanwhile: take the next one
        remaining = _min(remaining_quota(schedule.quota_for(platform), recent, now), platform_left)
        self.ledger.finish(platform, slot.at, "claimed", publication_id=item.publication_id)
        log.info("%s: slot %s: publishing %s (%d posts; %s)", platform, when, item.ids(), item.posts,
                 "no daily quota" if remaining is None else f"{remaining} left in the 24-hour quota")
        result = self._publish(item, account)
        return close(result.state, f"{result.posts_sent} posts sent" + (f"; {result.detail}" if result.detail else ""),
                     item, level=logging.INFO if result.state == "posted" else logging.WARNING)

    def _publish(self, item: QueuedThread, account: PostingAccount) -> PublishOutcome:
        try:
            return self.publish(item, account, self.stopping.is_set)
        except PublisherError as exc:
            return PublishOutcome("error", 0, _scrub(str(exc), account, self.environ))
        except Exception as exc:  # a bug: the outbox keeps the publication's state; next start resolves
            message = _scrub(f"internal error {type(exc).__name__}: {exc}", account, self.environ)
            if os.environ.get("PUBLISHER_DEBUG"):
                log.exception("%s: %s", item.ids(), message)
            return PublishOutcome("error", 0, message)

    # --- one pass, for --once ---

    def run_once(self) -> "OnceReport":
        """Everything due now: reload, finish interrupted threads, scan sources, handle due slots."""
        self.watcher.poll()
        self.announce()
        continued = self.continue_due()
        ingested = self.scan()
        slots = self.tick()
        return OnceReport(continued=tuple(continued), ingested=tuple(ingested), slots=tuple(slots))

    # --- the long-running loop ---

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (by SIGTERM/SIGINT in :func:`serve_forever`)."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        stop = stop or self.stopping
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

        def scan_job() -> None:
            if self.watcher.poll():
                self.announce()
                self._install_slot_jobs(scheduler)
                scheduler.reschedule_job("scan", trigger=IntervalTrigger(
                    seconds=self.schedule.scan_every.total_seconds(), timezone=UTC))
            self.continue_due()
            self.scan()
            self.tick()

        def slot_job(platform: str) -> None:
            if self.watcher.poll():
                self.announce()
                self._install_slot_jobs(scheduler)
            self.tick([platform])

        self._slot_job = slot_job
        schedule = self.schedule
        log.info("publisher run: %s, zone %s, %d slot jobs, scanning %d sources every %s", self.watcher.path,
                 schedule.timezone, sum(len(r.times) for p in schedule.active_platforms()
                                        for r in schedule.platforms[p].slots),
                 len(schedule.sources), _ago(schedule.scan_every))
        for platform in schedule.platforms:
            missing = schedule.missing_credentials(platform, self.environ) if platform in schedule.active_platforms() else []
            if missing:
                log.error("%s: missing environment variable %s: its slots will not post", platform, ", ".join(missing))
        self.announce()
        scan_job()
        if self.monitor is not None:
            self.monitor.ready()
        scheduler.add_job(scan_job, IntervalTrigger(seconds=schedule.scan_every.total_seconds(), timezone=UTC),
                          id="scan", name="scan sources")
        self._install_slot_jobs(scheduler)
        scheduler.start()
        try:
            while not stop.wait(0.5):
                problem = self.watch.problem() if self.watch is not None else None
                if problem:  # the database was deleted or replaced: stop loudly, post nothing more
                    log.critical("%s", problem)
                    self.fatal = problem
                    if self.monitor is not None:  # and alert, when alerts are set up
                        try:
                            self.monitor._unusable(problem, "database-gone")
                        except Exception:  # noqa: BLE001 - the alert is a courtesy; stopping is what matters
                            log.debug("alert about the missing database failed", exc_info=True)
                    break
        finally:
            self.stopping.set()
            log.info("stopping: waiting for the work in flight")
            scheduler.shutdown(wait=True)
            if self.monitor is not None:
                self.monitor.stopped()
            log.info("stopped")

    def _install_slot_jobs(self, scheduler) -> None:
        for job in scheduler.get_jobs():
            if job.id.startswith("slot:"):
                job.remove()
        schedule = self.schedule
        offset = self.clock.now() - dt.datetime.now(UTC)
        for platform in schedule.active_platforms():
            for i, rule in enumerate(schedule.platforms[platform].slots):
                for wall in rule.times:
                    trigger = make_slot_trigger(schedule.zone, rule.days, wall, offset)
                    scheduler.add_job(self._slot_job, trigger, args=[platform],
                                      id=f"slot:{platform}:{i}:{wall.isoformat()}",
                                      name=f"{platform} {rule.describe()}")


@dataclass(frozen=True)
class OnceReport:
    continued: tuple[SlotOutcome, ...]
    ingested: tuple[IngestResult, ...]
    slots: tuple[SlotOutcome, ...]


def _about(path: Path, detail: str) -> str:
    """``path: detail`` for a log line, without repeating the path when the detail starts with it
    (InputError messages name their file, often with a line: ``/x/a.md:4: ...``)."""
    return detail if detail.startswith(str(path)) else f"{path}: {detail}"


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d{hours % 24}h"


def _scrub(text: str, account: PostingAccount, environ: dict[str, str] | None) -> str:
    """Remove any credential value of ``account`` that found its way into a message."""
    env = environ if environ is not None else os.environ
    for name in account.env.values():
        value = env.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


# --- APScheduler trigger -----------------------------------------------------------------------


def make_slot_trigger(zone, days: Sequence[int], wall: dt.time, offset: dt.timedelta = dt.timedelta(0)):
    """An APScheduler trigger firing at local ``wall`` time on ``days``, by our DST rules.

    APScheduler's CronTrigger has its own idea of nonexistent and repeated local times; this
    one asks :func:`publisher.schedule.config.next_occurrence`. ``offset`` maps the daemon's clock to
    the real one (non-zero only when started with ``--now``).
    """
    from apscheduler.triggers.base import BaseTrigger

    class SlotTrigger(BaseTrigger):
        def get_next_fire_time(self, previous_fire_time, now):
            after = (previous_fire_time if previous_fire_time is not None
                     else now - dt.timedelta(microseconds=1)) + offset
            return next_occurrence(zone, days, wall, after.astimezone(UTC)) - offset

        def __str__(self) -> str:
            return f"slot[{','.join(str(d) for d in days)} {wall.isoformat()}]"

    return SlotTrigger()


# --- wiring ----------------------------------------------------------------------------------


def setup_logging(level: int = logging.INFO) -> None:
    """One line per action on stderr."""
    handler = logging.StreamHandler()
    from publisher.textsafe import for_terminal
    from publisher.clock import ZoneFormatter

    class SafeFormatter(ZoneFormatter):
        """Log lines name files and titles: their control and bidi characters are shown as ``?``."""

        def format(self, record: logging.LogRecord) -> str:
            return for_terminal(super().format(record))

    handler.setFormatter(SafeFormatter("%(asctime)s publisher %(levelname)s %(message)s",
                                       datefmt="%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger("publisher")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def serve_forever(daemon: Daemon) -> None:
    """Run the daemon until SIGTERM or SIGINT; the second signal is only acknowledged."""
    import signal

    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        if stop.is_set():
            log.warning("%s again: still waiting for the post in flight", signal.Signals(signum).name)
            return
        log.info("%s received: finishing the post in flight, then stopping", signal.Signals(signum).name)
        daemon.stopping.set()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        daemon.serve(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- the real parts ----------------------------------------------------------------------------


class _Stopped(Exception):
    """Raised between two posts when the daemon is asked to stop."""


class OutboxStore:
    """:class:`publisher.queue.outbox.Outbox` as a :class:`ScheduleStore`, plus the publish step.

    Quotas are counted per platform (publisher posts through one account per platform), from
    the ``post_results`` table, which records every post the moment its id is known.
    """

    def __init__(self, outbox, *, clock: Clock | None = None,
                 make_platform: Callable[[PostingAccount], object] | None = None,
                 environ: dict[str, str] | None = None):
        self.outbox = outbox
        self.clock = clock or SystemClock()
        self.make_platform = make_platform or platform_for
        self.environ = environ

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
        from publisher.errors import StoreError

        try:
            self.outbox.claim(publication_id, now, why=reason, quota=quota)
        except StoreError as exc:
            log.warning("publication %s not taken: %s", publication_id, exc)
            return False
        return True

    def release(self, publication_id: int, now: dt.datetime, reason: str) -> None:
        self.outbox.release(publication_id, reason, now=now)

    # -- publishing --

    def publish(self, item: QueuedThread, account: PostingAccount, should_stop: Callable[[], bool]) -> PublishOutcome:
        """Post the rest of a claimed publication; stop between posts when asked."""
        from publisher.publishing.publish import publish_publication

        try:
            platform = self.make_platform(account)
        except Exception as exc:  # nothing was sent: give the thread back, whatever went wrong
            self.release(item.publication_id, self.clock.now(), f"not started: {exc}")
            if not isinstance(exc, PublisherError):
                raise
            return PublishOutcome("error", 0, str(exc))
        n_total = item.posted + item.posts
        sent = 0

        def on_post(post, ref) -> None:
            nonlocal sent
            sent += 1
            log.info("%s: posted %d/%d of %s as %s", item.platform, post.index + 1, n_total, item.ids(), ref.id)
            if should_stop() and post.index + 1 < n_total:
                raise _Stopped()

        try:
            result = publish_publication(self.outbox, item.publication_id, platform, clock=self.clock.now,  # type: ignore[arg-type]
                                         on_post=on_post)
        except _Stopped:
            self.release(item.publication_id, self.clock.now(),
                         f"publisher run stopped after post {item.posted + sent}; the rest goes out at the next start")
            return PublishOutcome("approved", sent, f"stopped after {sent} posts; resumes at the next start")
        pub = result.publication
        detail = "" if pub.state == "posted" else (pub.note or "")
        return PublishOutcome(pub.state, len(result.sent), detail)


def platform_for(account: PostingAccount):
    """The platform adapter for ``account``, with credentials read from the variables it names."""
    from publisher.platforms.registry import spec

    return spec(account.platform).load(account.env)


def default_ingest(outbox, *, translator=None, settings=None) -> IngestFn:
    """read -> translate -> summarise and render -> store, for files found in the sources.

    Goes through :class:`publisher.app.Pipeline`: the model for the article's script is
    loaded once, on first use; with no model installed a Chinese article is NOT ingested
    (ModelError: the daemon says so once and tries again at the next scan, so installing the
    model is enough); an article that is not Chinese is refused (InputError). ``translator``
    (tests) replaces the model. ``settings`` is a :class:`publisher.app.Settings` or a
    function returning the current one (the daemon passes the live schedule's, so an edited
    schedule.yaml applies to the next article); its :meth:`~publisher.app.Settings.plan`
    decides platforms and approval exactly as ``publisher ingest`` does for the same file.
    """
    from publisher.app import Pipeline, ingest_file, resolve_settings

    pipeline = Pipeline(translator=translator, cache=True)

    def ingest(path: Path, source: Source, now: dt.datetime) -> IngestResult:
        current = settings() if callable(settings) else settings
        if current is None:
            current = resolve_settings(None)
        current.apply_to(pipeline)
        plan = current.plan(path, source)
        ingested = ingest_file(path, outbox, pipeline, plan.platforms, auto_approve=plan.auto_approve, now=now,
                               base_url=plan.source.base_url if plan.source else None)
        return ingested_result(ingested, tuple(outbox.get(p).thread_id for p in ingested.publications))

    return ingest


def ingested_result(ingested, thread_ids: tuple[int, ...] = ()) -> IngestResult:
    """An :class:`publisher.queue.outbox.Ingested` as the daemon logs it."""
    if ingested.unchanged:
        status = "unchanged"
    else:
        status = "new" if ingested.revision == 1 else f"revision {ingested.revision}"
    detail = []
    if ingested.superseded:
        detail.append("withdrew " + ",".join(map(str, ingested.superseded)))
    if ingested.held:
        detail.append("not auto-approved, waits for a person: " + "; ".join(ingested.held))
    if ingested.earlier_posted:
        detail.append("an earlier revision was already posted (" + ",".join(map(str, ingested.earlier_posted))
                      + "): this one waits for a person, and goes out as a reply to that thread")
    return IngestResult(status, ingested.article_id, tuple(ingested.publications), tuple(ingested.approved),
                        "; ".join(detail), thread_ids)


@contextmanager
def open_store(db: Path | None = None) -> Iterator[ScheduleStore]:
    """The queue database as a :class:`ScheduleStore` (reading needs no lock)."""
    from publisher.queue.outbox import Outbox

    outbox = Outbox.open(db)
    try:
        yield OutboxStore(outbox)
    finally:
        outbox.close()


@contextmanager
def build_daemon(schedule_path: Path, *, clock: Clock | None = None, db: Path | None = None,
                 settle: float = 2.0, ingest: IngestFn | None = None,
                 make_platform: Callable[[PostingAccount], object] | None = None,
                 now: dt.datetime | None = None, mode: str = "daemon") -> Iterator[Daemon]:
    """A Daemon on the real database, holding the lock for as long as the block runs.

    ``now`` (``--now``) starts the daemon's clock at that instant, after :func:`check_now`
    accepted it for this database (under the lock, so no other run records meanwhile).
    """
    from publisher.config import Paths
    from publisher.queue.outbox import Outbox
    from publisher.app import resolve_settings

    from publisher.queue.database import is_postgres, target

    db = target(db or Paths.from_env().db)
    watcher = ScheduleWatcher(schedule_path)
    if is_postgres(db):
        from publisher.queue.pgstore import AdvisoryDaemonLock as lock  # one run per database, across hosts
    else:
        lock = DaemonLock  # type: ignore[assignment]
    with lock(db):  # type: ignore[arg-type]
        outbox = Outbox.open(db)
        try:
            real_now = dt.datetime.now(UTC)
            latest = latest_recorded(outbox.db)
            if now is not None and clock is None:
                check_now(now, real_now, latest, watcher.schedule.zone)
                clock = ShiftedClock(now)
            elif latest is not None and latest > real_now + NOW_GRACE and clock is None:
                log.warning("the clock looks wrong: this database recorded times up to %s, later than the clock "
                            "(%s); slots recorded in the future are not counted as handled. Once the clock is "
                            "right, run `publisher db repair-clock`", _local(latest, watcher.schedule),
                            _local(real_now, watcher.schedule))
            clock = clock or SystemClock()
            store = OutboxStore(outbox, clock=clock, make_platform=make_platform)
            from publisher.cockpit.monitor import Monitor
            from publisher.queue.db import DatabaseWatch

            monitor = Monitor(outbox, schedule=lambda: watcher.schedule, schedule_file=str(Path(schedule_path).resolve()),
                              clock=clock.now, mode=mode, schedule_problems=lambda: watcher.problems)
            daemon = Daemon(watcher=watcher, store=store, publish=store.publish,
                            ingest=ingest or default_ingest(outbox, settings=lambda: resolve_settings(watcher.schedule)),
                            ledger=SlotLedger(db), clock=clock,
                            scanner=SourceScanner(settle), monitor=monitor)
            if not is_postgres(db):  # a server's database is not a file (its loss is a connection error)
                daemon.watch = DatabaseWatch(db)  # stops the daemon loudly when the database is deleted
            yield daemon
        finally:
            outbox.close()
