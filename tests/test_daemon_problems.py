"""Nothing in the schedule may silently do nothing: a missing source folder and a platform that is
enabled with no slots (its approved threads would wait forever) are said at start, on reload, and
by `publisher schedule`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import textwrap
import time

from conftest import run_cli, subprocess_env
from factories import store
from publisher.daemon.daemon import Daemon
from publisher.daemon.sources import ScheduleWatcher
from publisher.daemon.wiring import OutboxStore
from publisher.queue.ledger import SlotLedger
from publisher.schedule.rules import schedule_problems
from publisher.testing import ManualClock
from publisher.queue.outbox import Outbox
from publisher.schedule.config import UTC, parse_schedule

NOW = dt.datetime(2024, 6, 14, 1, tzinfo=UTC)

SCHEDULE = textwrap.dedent("""\
    timezone: Asia/Shanghai
    sources:
      - {path: inbox, platforms: [x, mastodon]}
      - {path: missing, platforms: [x]}
    platforms:
      x:
        slots: [{times: ["09:00"]}]
      mastodon: {}
      bluesky:
        accounts: {main: {enabled: false}}
        slots: [{times: ["10:00"]}]
    """)


def test_problems_name_the_missing_folder_and_the_platform_without_slots(tmp_path):
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE, encoding="utf-8")
    schedule = parse_schedule(SCHEDULE, path)
    with Outbox.open(tmp_path / "q.db") as outbox:
        problems = schedule_problems(schedule, OutboxStore(outbox), NOW)
        assert problems == [
            f"source missing: {tmp_path / 'missing'} does not exist; nothing is ingested from it",
            "mastodon: enabled but has no slots: approved threads for it wait forever; add platforms.mastodon.slots, "
            "or post by hand (`publisher publish ID`)",
            "bluesky: no enabled account under platforms.bluesky.accounts: its slots post nothing",
        ]
        store(outbox, tmp_path / "articles", "a.md", platforms=("mastodon",), auto_approve=True)
        assert "mastodon: enabled but has no slots: approved threads for it wait forever (1 approved thread " \
               "waiting)" in schedule_problems(schedule, OutboxStore(outbox), dt.datetime.now(UTC))[1]
    (tmp_path / "missing").mkdir()
    assert not any("missing" in line for line in schedule_problems(schedule))


def test_the_daemon_says_them_at_start_and_after_a_reload(tmp_path, caplog):
    path = tmp_path / "schedule.yaml"
    path.write_text("timezone: UTC\nplatforms:\n  x:\n    slots: [{times: ['09:00']}]\n", encoding="utf-8")
    with Outbox.open(tmp_path / "q.db") as outbox:
        clock = ManualClock(NOW)
        outbox_store = OutboxStore(outbox, clock=clock)
        daemon = Daemon(watcher=ScheduleWatcher(path), store=outbox_store, publish=outbox_store.publish, ingest=None,
                        ledger=SlotLedger(tmp_path / "q.db"), clock=clock)
        with caplog.at_level(logging.INFO, logger="publisher"):
            daemon.run_once()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        path.write_text(path.read_text() + "  mastodon: {}\nsources:\n  - {path: inbox, platforms: [x]}\n",
                        encoding="utf-8")
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="publisher"):
            daemon.run_once()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [f"source inbox: {tmp_path / 'inbox'} does not exist; nothing is ingested from it",
                            "mastodon: enabled but has no slots: approved threads for it wait forever; add "
                            "platforms.mastodon.slots, or post by hand (`publisher publish ID`)"]


def test_publisher_schedule_shows_the_problems(tmp_path):
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE, encoding="utf-8")
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "q.db"))
    Outbox.open(tmp_path / "q.db").close()
    proc = run_cli("schedule", "--schedule", str(path), "--now", "2024-06-14T08:00", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    assert len(problems) == 3 and problems[1].startswith("mastodon: enabled but has no slots")
    proc = run_cli("schedule", "--schedule", str(path), "--now", "2024-06-14T08:00", env=env)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "Problems" in text and "mastodon: enabled but has no slots" in text
    assert "missing does not exist; nothing is ingested from it" in text
