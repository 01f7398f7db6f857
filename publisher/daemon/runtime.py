"""How `publisher run` runs: one run per database (:class:`DaemonLock`), a safe ``--now``
(:func:`check_now`), APScheduler as the clock that wakes the daemon (:func:`serve`, with
:func:`make_slot_trigger` for our DST rules), signals (:func:`serve_forever`) and log lines
(:func:`setup_logging`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from publisher.errors import ClockRefused, LockHeld
from publisher.clock import short_duration
from publisher.schedule.slots import UTC, next_occurrence

if TYPE_CHECKING:
    from publisher.daemon.daemon import Daemon

log = logging.getLogger("publisher.daemon")


# --- one run per database --------------------------------------------------------------------


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


# --- --now -------------------------------------------------------------------------------------

#: How far ahead of the real clock ``--now`` may be (a slot time typed a moment early).
NOW_GRACE = dt.timedelta(minutes=1)


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


# --- APScheduler ---------------------------------------------------------------------------------


def make_slot_trigger(zone, days: Sequence[int], wall: dt.time, offset: dt.timedelta = dt.timedelta(0)):
    """An APScheduler trigger firing at local ``wall`` time on ``days``, by our DST rules.

    APScheduler's CronTrigger has its own idea of nonexistent and repeated local times; this
    one asks :func:`publisher.schedule.slots.next_occurrence`. ``offset`` maps the daemon's clock to
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


def serve(daemon: "Daemon", stop: threading.Event) -> None:
    """Run ``daemon`` until ``stop`` is set: an interval job scans (reload, continue, scan, tick),
    one job per slot time ticks its platform (:meth:`publisher.daemon.daemon.Daemon.serve`)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BackgroundScheduler(
        timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    def scan_job() -> None:
        if daemon.watcher.poll():
            daemon.announce()
            install_slot_jobs()
            scheduler.reschedule_job("scan", trigger=IntervalTrigger(
                seconds=daemon.schedule.scan_every.total_seconds(), timezone=UTC))
        daemon.continue_due()
        daemon.scan()
        daemon.tick()

    def slot_job(platform: str) -> None:
        if daemon.watcher.poll():
            daemon.announce()
            install_slot_jobs()
        daemon.tick([platform])

    def install_slot_jobs() -> None:
        for job in scheduler.get_jobs():
            if job.id.startswith("slot:"):
                job.remove()
        schedule = daemon.schedule
        offset = daemon.clock.now() - dt.datetime.now(UTC)
        for platform in schedule.active_platforms():
            for i, rule in enumerate(schedule.platforms[platform].slots):
                for wall in rule.times:
                    trigger = make_slot_trigger(schedule.zone, rule.days, wall, offset)
                    scheduler.add_job(slot_job, trigger, args=[platform],
                                      id=f"slot:{platform}:{i}:{wall.isoformat()}",
                                      name=f"{platform} {rule.describe()}")

    schedule = daemon.schedule
    log.info("publisher run: %s, zone %s, %d slot jobs, scanning %d sources every %s", daemon.watcher.path,
             schedule.timezone, sum(len(r.times) for p in schedule.active_platforms()
                                    for r in schedule.platforms[p].slots),
             len(schedule.sources), short_duration(schedule.scan_every))
    for platform in schedule.platforms:
        missing = schedule.missing_credentials(platform, daemon.environ) if platform in schedule.active_platforms() else []
        if missing:
            log.error("%s: missing environment variable %s: its slots will not post", platform, ", ".join(missing))
    daemon.announce()
    scan_job()
    if daemon.monitor is not None:
        daemon.monitor.ready()
    scheduler.add_job(scan_job, IntervalTrigger(seconds=schedule.scan_every.total_seconds(), timezone=UTC),
                      id="scan", name="scan sources")
    install_slot_jobs()
    scheduler.start()
    try:
        while not stop.wait(0.5):
            problem = daemon.watch.problem() if daemon.watch is not None else None
            if problem:  # the database was deleted or replaced: stop loudly, post nothing more
                log.critical("%s", problem)
                daemon.fatal = problem
                if daemon.monitor is not None:  # and alert, when alerts are set up
                    try:
                        daemon.monitor._unusable(problem, "database-gone")
                    except Exception:  # noqa: BLE001 - the alert is a courtesy; stopping is what matters
                        log.debug("alert about the missing database failed", exc_info=True)
                break
    finally:
        daemon.stopping.set()
        log.info("stopping: waiting for the work in flight")
        scheduler.shutdown(wait=True)
        if daemon.monitor is not None:
            daemon.monitor.stopped()
        log.info("stopped")


# --- the process -------------------------------------------------------------------------------


def serve_forever(daemon: "Daemon") -> None:
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
