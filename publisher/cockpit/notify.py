"""Alerts through apprise: tell a person when something needs them, once per event.

schedule.yaml::

    notify:
      targets: [PUBLISHER_ALERT_URL]    # NAMES of environment variables, each holding an apprise URL
      events: [needs_person, account_stopped, failed, unusable, quota_blocked]   # the default: all

An apprise URL (``mailto://user:pass@example.com``, ``ntfy://ntfy.sh/topic``, ``matrixs://...``,
``slack://...``, ``tgram://bot/chat``, ``json://host/path``...) carries the service's token, so it
is read from the environment (or ``.env``) like platform credentials, and never logged or stored.

Events (:class:`publisher.cockpit.status.Problem` ``event``):

* ``needs_person`` — a post whose outcome is unknown, a draft held back from an auto-approving
  source, a claim whose process is gone or cannot be checked;
* ``account_stopped`` — the platform rejected the credentials (401/403), or they are missing;
* ``failed`` — a post failed for good (the platform refused it, or retries gave up);
* ``unusable`` — the database or schedule.yaml cannot be used (the daemon keeps what it had);
* ``quota_blocked`` — the quota (or budget) keeps an approved thread out of every slot for a day.

Each event is sent once: its key is recorded in the ``alerts_sent`` table (so a restart, or
cron's ``run --once`` every few minutes, does not repeat it). A delivery that fails is tried
again at the next check.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from publisher.schedule.config import NotifySettings
    from publisher.cockpit.status import Problem

log = logging.getLogger("publisher.cockpit.notify")

TITLES = {
    "needs_person": "publisher: a thread needs a person",
    "account_stopped": "publisher: an account is stopped",
    "failed": "publisher: a post failed for good",
    "unusable": "publisher: the database or schedule is unusable",
    "quota_blocked": "publisher: the quota blocks a thread",
    "test": "publisher: test alert",
}


class Notifier:
    """Sends alerts to the targets of ``settings``; remembers what was sent in ``db``."""

    def __init__(self, settings: "NotifySettings | None", db: sqlite3.Connection | None = None,
                 environ: dict[str, str] | None = None):
        self.settings = settings
        self.db = db
        self.environ = environ
        self._said: set[str] = set()
        self._memory: set[str] = set()
        """Keys sent while the database could not record them."""

    def urls(self) -> tuple[list[str], list[str]]:
        """(apprise URLs, NAMES of target variables that are unset)."""
        from publisher.config import load_dotenv_once

        if self.settings is None:
            return [], []
        if self.environ is None:
            load_dotenv_once()
        env = self.environ if self.environ is not None else os.environ
        urls, missing = [], []
        for name in self.settings.targets:
            value = env.get(name, "").strip()
            (urls.append(value) if value else missing.append(name))
        return urls, missing

    def send(self, title: str, body: str) -> tuple[int, int]:
        """Send one message to every target; (delivered, targets). Never raises."""
        urls, missing = self.urls()
        for name in missing:
            self._say_once(f"missing:{name}", f"notify: environment variable {name} is not set: no alert goes there")
        if not urls:
            return 0, 0
        import apprise

        delivered = 0
        for i, url in enumerate(urls):
            box = apprise.Apprise()
            if not box.add(url):
                # Never repeat the URL: it holds a token.
                self._say_once(f"bad:{i}", f"notify: {self.settings.targets[i]} does not hold an apprise URL "  # type: ignore[union-attr]
                                           "apprise understands")
                continue
            try:
                ok = bool(box.notify(title=title, body=body))
            except Exception as exc:  # a broken target must never stop the daemon
                ok = False
                log.debug("notify: %s: %s", self.settings.targets[i], type(exc).__name__)  # type: ignore[union-attr]
            if ok:
                delivered += 1
            else:
                self._say_once(f"fail:{i}:{title}", f"notify: sending to {self.settings.targets[i]} failed; "  # type: ignore[union-attr]
                                                   "tried again at the next check")
        return delivered, len(urls)

    def _say_once(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            log.warning("%s", message)

    def _sent(self, key: str) -> bool:
        if key in self._memory:
            return True
        if self.db is None:
            return False
        try:
            return self.db.execute("SELECT 1 FROM alerts_sent WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def _record(self, key: str, event: str, message: str, now: dt.datetime) -> None:
        self._memory.add(key)
        if self.db is None:
            return
        try:
            self.db.execute("INSERT INTO alerts_sent (key, event, message, sent_at, delivered) "
                            "VALUES (?, ?, ?, ?, 1) ON CONFLICT DO NOTHING", (key, event, message, now.astimezone(dt.timezone.utc)
                                                       .strftime("%Y-%m-%dT%H:%M:%SZ")))
        except sqlite3.Error:
            pass  # remembered in memory for this process

    def alert(self, problems: Iterable["Problem"], now: dt.datetime, where: str = "") -> list["Problem"]:
        """Send the problems not alerted before (one message each); returns those sent."""
        if self.settings is None:
            return []
        sent = []
        for problem in problems:
            if problem.event not in self.settings.events or self._sent(problem.key):
                continue
            body = problem.message + (f"\n\n{where}" if where else "")
            delivered, targets = self.send(TITLES.get(problem.event, "publisher"), body)
            if delivered:
                self._record(problem.key, problem.event, problem.message, now)
                log.info("alert sent (%s) to %d of %d targets: %s", problem.event, delivered, targets,
                         problem.message)
                sent.append(problem)
        return sent
