"""What `publisher run` tells the world while it works: the heartbeat in the database (read by
`publisher status`), systemd's READY/WATCHDOG/STATUS (:mod:`publisher.cockpit.sdnotify`), and alerts
(:mod:`publisher.cockpit.notify`) for every new problem :func:`publisher.cockpit.status.collect` finds.

The daemon calls :meth:`Monitor.beat` at every tick and after each scan; nothing here may
stop the daemon: a failure is logged once, and a database that cannot be written is itself an
alert (``unusable``).
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import sqlite3
import threading
from typing import TYPE_CHECKING, Callable

from publisher.cockpit import sdnotify
from publisher.errors import PublisherError

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.schedule.config import Schedule

log = logging.getLogger("publisher.cockpit.monitor")
UTC = dt.timezone.utc


class Monitor:
    def __init__(self, outbox: "Outbox", *, schedule: Callable[[], "Schedule"], schedule_file: str,
                 clock: Callable[[], dt.datetime], mode: str = "daemon", environ: dict[str, str] | None = None,
                 schedule_problems: Callable[[], list[str]] | None = None):
        from publisher.cockpit.notify import Notifier

        self.outbox = outbox
        self.schedule = schedule
        self.schedule_file = schedule_file
        self.clock = clock
        self.mode = mode
        self.environ = environ
        self.schedule_problems = schedule_problems or (lambda: [])
        self.started_at = clock()
        self.real_start = dt.datetime.now(UTC)
        self.notifier = Notifier(schedule().notify, outbox.db, environ)
        self._checked: dt.datetime | None = None
        self._lock = threading.Lock()
        self._failed_once: set[str] = set()

    def _interval(self) -> float:
        return self.schedule().scan_every.total_seconds()

    def beat(self, *, scanned: bool = False, check: bool = True) -> None:
        """Write the heartbeat, ping systemd's watchdog, and (at most once per scan interval) look
        for problems to alert about."""
        from publisher.cockpit.status import write_heartbeat

        with self._lock:
            now = self.clock()
            real = dt.datetime.now(UTC)  # the heartbeat is about this process, on the real clock (not --now)
            try:
                with self.outbox.transaction() as db:
                    write_heartbeat(db, mode=self.mode, schedule=self.schedule_file, interval=self._interval(),
                                    now=real, started_at=self.real_start, scanned=scanned)
            except (sqlite3.Error, PublisherError) as exc:
                self._unusable(f"database {self.outbox.path}: cannot be written ({exc}); the heartbeat and "
                               "the queue may be out of date", "db")
                return
            sdnotify.notify("WATCHDOG=1")
            if check and (self._checked is None or scanned
                          or (now - self._checked).total_seconds() >= self._interval()):
                self._checked = now
                self.check(now)

    def check(self, now: dt.datetime | None = None):
        """Collect the status; alert what is new; tell systemd the one-line summary."""
        from publisher.cockpit.status import Problem, collect

        now = now or self.clock()
        self.notifier.settings = self.schedule().notify  # a reloaded schedule may change the targets
        try:
            status = collect(self.schedule(), self.outbox, now, self.environ, self.schedule_file)
        except (sqlite3.Error, PublisherError) as exc:
            self._unusable(f"database {self.outbox.path}: cannot be read ({exc})", "db-read")
            return None
        problems = [p for p in status.problems if p.kind != "daemon"]  # this process is the daemon
        for line in self.schedule_problems():
            problems.append(Problem("schedule", f"{line} (the previous schedule stays in force)",
                                    key=f"schedule:{line}"))
        where = f"{socket.gethostname()} · {status.database} · times in {status.zone_name}"
        with self.outbox._lock:  # the notifier records in the shared connection: not inside another's transaction
            self.notifier.alert(problems, now, where)
        summary = ("ok" if not problems else f"{len(problems)} thing{'s' if len(problems) != 1 else ''} "
                   f"need{'s' if len(problems) == 1 else ''} a person: {problems[0].message}")
        sdnotify.notify(f"STATUS={summary[:200]}")
        return status

    def _unusable(self, message: str, key: str) -> None:
        from publisher.cockpit.status import Problem

        if key not in self._failed_once:
            self._failed_once.add(key)
            log.error("%s", message)
        # The database cannot record it: the notifier remembers it in memory for this process.
        self.notifier.alert([Problem("schedule", message, key=f"unusable:{key}:{self.started_at.isoformat()}")],
                            self.clock())

    def ready(self) -> None:
        sdnotify.notify("READY=1", f"STATUS=running {self.schedule_file}")

    def stopped(self) -> None:
        from publisher.cockpit.status import stop_heartbeat

        sdnotify.notify("STOPPING=1")
        if self.mode != "daemon":
            return
        try:
            with self.outbox.transaction() as db:
                stop_heartbeat(db, dt.datetime.now(UTC))
        except (sqlite3.Error, PublisherError):
            pass
