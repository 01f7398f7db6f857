"""The daemon's decisions with an injectable clock and a fake outbox: slots, quotas, misfires,
min_gap, quiet hours, the lock, reloading schedule.yaml, scanning sources, stopping cleanly."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from publisher.clock import ShiftedClock
from publisher.daemon.daemon import Daemon
from publisher.daemon.records import IngestResult, PublishOutcome
from publisher.daemon.runtime import DaemonLock, make_slot_trigger
from publisher.daemon.sources import ScheduleWatcher, SourceScanner
from publisher.errors import LockHeld
from publisher.queue.ledger import SlotLedger
from publisher.schedule.rules import forecast, quota_status
from publisher.testing import ManualClock
from publisher.errors import PlatformError
from publisher.schedule.config import UTC
from publisher.testing import MemoryScheduleStore

CREDS = {"X_API_KEY": "k" * 25, "X_API_SECRET": "s" * 50, "X_ACCESS_TOKEN": "t" * 50,
         "X_ACCESS_TOKEN_SECRET": "u" * 45, "MASTODON_API_BASE_URL": "http://127.0.0.1:1",
         "MASTODON_ACCESS_TOKEN": "m" * 43}


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class FakeStore(MemoryScheduleStore):
    """publisher.testing's in-memory store (contract-tested against the real one), with the ids
    these tests name: publication ``pid``, thread ``100 + pid``, article ``200 + pid``."""

    def add(self, pid: int, posts: int, platform: str = "x", state: str = "approved",  # type: ignore[override]
            at: dt.datetime | None = None, posted: int = 0) -> int:
        return super().add(posts, platform, state=state, at=at, title=f"thread {pid}", thread_id=100 + pid,
                           article_id=200 + pid, posted=posted, publication_id=pid)


class FakePublisher:
    """Posts instantly (or slowly, checking should_stop between posts) and records post times."""

    def __init__(self, store: FakeStore, clock, delay: float = 0.0):
        self.store, self.clock, self.delay = store, clock, delay
        self.calls: list[tuple] = []
        self.fail_with: Exception | None = None

    def __call__(self, item, account, should_stop):
        assert self.store.state(item.publication_id) == "publishing", "published without a claim"
        self.calls.append((item.publication_id, account.platform, account.name))
        if self.fail_with:
            raise self.fail_with
        pid = item.publication_id
        sent = 0
        for _ in range(item.posts):
            if sent and should_stop():
                self.store.release(pid, self.clock.now(), "stopped")
                return PublishOutcome("approved", sent, "stopped between posts")
            time.sleep(self.delay)
            self.store.post(pid, self.clock.now())
            sent += 1
        return PublishOutcome("posted", sent)


SCHEDULE = """
    timezone: {zone}
    misfire: {misfire}
    misfire_grace: 10m
    min_gap: {gap}
    {quiet}
    platforms:
      x:
        accounts:
          main:
            daily_quota: {quota}
        slots:
          - days: daily
            times: [{times}]
    """


def write_schedule(path: Path, *, zone="Asia/Shanghai", misfire="catch_up_one", gap="0s", quota=17,
                   times='"09:00", "12:00", "18:00"', quiet="", extra="") -> Path:
    path.write_text(textwrap.dedent(SCHEDULE.format(zone=zone, misfire=misfire, gap=gap, quota=quota, times=times,
                                                    quiet=quiet)) + extra, encoding="utf-8")
    return path


@pytest.fixture
def make(tmp_path):
    """Build a Daemon on a schedule file, a real SQLite ledger, a fake store and a manual clock."""

    def build(start: dt.datetime, environ=None, **schedule_kwargs):
        path = write_schedule(tmp_path / "schedule.yaml", **schedule_kwargs)
        clock = ManualClock(start)
        store = FakeStore()
        publisher = FakePublisher(store, clock)
        daemon = Daemon(watcher=ScheduleWatcher(path), store=store, publish=publisher, ingest=None,
                        ledger=SlotLedger(tmp_path / "q.db"), clock=clock,
                        environ=CREDS if environ is None else environ)
        return daemon, store, publisher, clock

    return build


# Shanghai: 09:00 local is 01:00 UTC.
NINE = utc(2024, 6, 14, 1)
NOON = utc(2024, 6, 14, 4)
SIX_PM = utc(2024, 6, 14, 10)


def outcomes(result) -> list[tuple[str, str]]:
    return [(o.slot.local.strftime("%H:%M") if o.slot else "-", o.outcome) for o in result]


def test_a_slot_posts_the_next_approved_thread_once(make):
    daemon, store, pub, clock = make(NINE - dt.timedelta(minutes=1))
    store.add(1, 3)
    store.add(2, 4)
    assert daemon.tick() == []  # not yet
    clock.set(NINE)
    assert outcomes(daemon.tick()) == [("09:00", "posted")]
    assert pub.calls == [(1, "x", "main")]
    assert store.claims == [(1, NINE, "slot 2024-06-14 09:00:00 CST by publisher run")]
    clock.advance(minutes=3)
    assert daemon.tick() == []  # the 09:00 slot is used up
    clock.set(NOON + dt.timedelta(seconds=30))
    assert outcomes(daemon.tick()) == [("12:00", "posted")]
    assert [c[0] for c in pub.calls] == [1, 2]
    rows = daemon.ledger.rows("x")
    assert [(r.slot_at, r.outcome, r.publication_id) for r in rows] == [(NINE, "posted", "1"), (NOON, "posted", "2")]


def test_an_idle_slot_is_used_up_and_logged(make, caplog):
    daemon, store, pub, clock = make(NINE)
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "idle")]
    store.add(1, 2)
    assert daemon.tick() == []  # approved after the slot: waits for the next one
    assert pub.calls == []
    assert any("x: slot 2024-06-14 09:00:00 CST: idle: nothing approved" in r.getMessage() for r in caplog.records)


def test_a_six_post_thread_is_not_started_with_five_posts_of_quota_left(make, caplog):
    daemon, store, pub, clock = make(NINE)
    # 12 posts in the last 24 hours: 5 left of 17.
    store.posts += [("x", NINE - dt.timedelta(hours=2))] * 6 + [("x", NINE - dt.timedelta(hours=1))] * 6
    store.add(1, 6)
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "quota")]
    assert pub.calls == [] and store.state(1) == "approved"
    message = next(r.getMessage() for r in caplog.records if "quota" in r.getMessage())
    assert "next thread 101 needs 6 posts, 5 of 17 left" in message
    assert "enough from 2024-06-15 07:00:00 CST" in message  # when the 6 oldest leave the window
    # In the next slot the oldest posts have not left the window yet: still waiting, still whole.
    clock.set(NOON)
    assert outcomes(daemon.tick()) == [("12:00", "quota")]
    # A shorter thread behind it that fits is taken instead; the long one keeps its place.
    store.add(2, 5)
    clock.set(SIX_PM)
    assert outcomes(daemon.tick()) == [("18:00", "posted")]
    assert pub.calls == [(2, "x", "main")]
    assert store.state(1) == "approved"
    assert sum(1 for p, t in store.posts if t > SIX_PM - dt.timedelta(days=1)) == 17


def test_quota_frees_and_the_long_thread_goes_out_later(make):
    daemon, store, pub, clock = make(NINE)
    store.posts += [("x", NINE - dt.timedelta(hours=23, minutes=30))] * 12  # leave the window at 09:30
    store.add(1, 6)
    assert outcomes(daemon.tick()) == [("09:00", "quota")]
    clock.set(NOON)
    assert outcomes(daemon.tick()) == [("12:00", "posted")]
    assert pub.calls == [(1, "x", "main")]


@pytest.mark.parametrize("misfire, expected", [
    ("catch_up_one", [("09:00", "missed"), ("12:00", "missed"), ("18:00", "posted")]),
    ("skip", [("09:00", "missed"), ("12:00", "missed"), ("18:00", "missed")]),
])
def test_slots_missed_while_down_catch_up_one_or_skip_never_a_burst(make, misfire, expected):
    daemon, store, pub, clock = make(NINE - dt.timedelta(hours=1), misfire=misfire)
    assert daemon.tick() == []
    # Yesterday's last slot was handled; the daemon then stayed down until 20:00.
    daemon.ledger.record("x", utc(2024, 6, 13, 10), utc(2024, 6, 13, 10), "posted")
    for pid in range(1, 5):
        store.add(pid, 2)
    clock.set(SIX_PM + dt.timedelta(hours=2))
    assert outcomes(daemon.tick()) == expected
    assert len(pub.calls) == (1 if misfire == "catch_up_one" else 0)
    assert daemon.tick() == []  # and nothing more on the next tick
    assert len(pub.calls) == (1 if misfire == "catch_up_one" else 0)


def test_a_fresh_database_does_not_catch_up_slots_from_before_it_existed(make):
    daemon, store, pub, clock = make(NOON + dt.timedelta(hours=1))
    store.add(1, 2)
    assert daemon.tick() == []
    assert pub.calls == []


def test_a_catch_up_waits_for_the_end_of_the_quiet_hours(make):
    quiet = "quiet_hours: {start: '22:00', end: '07:00'}"
    # Handled up to 12:00; the daemon was then down until 23:00 (quiet hours).
    daemon2, store2, pub2, clock2 = make(NOON, quiet=quiet)
    store2.add(1, 2)
    assert outcomes(daemon2.tick()) == [("12:00", "posted")]
    store2.add(2, 2)
    clock2.set(utc(2024, 6, 14, 15))  # 23:00 CST: the 18:00 slot was missed, and it is quiet
    assert daemon2.tick() == []
    assert len(pub2.calls) == 1
    clock2.set(utc(2024, 6, 14, 23, 0, 1))  # 07:00:01 CST: quiet hours over -> catch up one
    assert outcomes(daemon2.tick()) == [("18:00", "posted")]
    assert [c[0] for c in pub2.calls] == [1, 2]


def test_min_gap_between_threads(make):
    daemon, store, pub, clock = make(NINE, gap="4h")
    store.add(1, 2)
    store.add(2, 2)
    store.posts.append(("x", NINE - dt.timedelta(hours=1)))  # posted by hand an hour ago
    assert outcomes(daemon.tick()) == [("09:00", "min_gap")]
    clock.set(NOON)  # 4 h after 08:00
    assert outcomes(daemon.tick()) == [("12:00", "posted")]
    clock.set(SIX_PM)
    assert outcomes(daemon.tick()) == [("18:00", "posted")]


def test_missing_credentials_block_posting_and_are_named_never_shown(make, caplog):
    env = dict(CREDS)
    del env["X_ACCESS_TOKEN_SECRET"]
    daemon, store, pub, clock = make(NINE, environ=env)
    store.add(1, 2)
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "credentials")]
    assert pub.calls == []
    assert any("missing environment variable X_ACCESS_TOKEN_SECRET" in r.getMessage() for r in caplog.records)
    assert not any(v in r.getMessage() for r in caplog.records for v in CREDS.values())


def test_secrets_in_error_messages_are_scrubbed_from_logs(make, caplog):
    daemon, store, pub, clock = make(NINE)
    store.add(1, 2)
    pub.fail_with = PlatformError(f"x: refused key {CREDS['X_API_KEY']} for token {CREDS['X_ACCESS_TOKEN']}")
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "error")]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused key *** for token ***" in text
    assert CREDS["X_API_KEY"] not in text and CREDS["X_ACCESS_TOKEN"] not in text


def test_log_lines_carry_article_thread_and_publication_ids(make, caplog):
    daemon, store, pub, clock = make(NINE)
    store.add(7, 3)
    with caplog.at_level(logging.INFO, logger="publisher"):
        daemon.tick()
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.endswith("publishing article 207 thread 107 publication 7 (3 posts; 17 left in the 24-hour quota)")
               for m in lines), lines
    assert any(m.endswith("posted article 207 thread 107 publication 7: 3 posts sent") for m in lines), lines
    assert all("\n" not in m for m in lines)


def test_partly_posted_threads_and_due_retries_continue_outside_slots(make):
    daemon, store, pub, clock = make(NINE - dt.timedelta(minutes=30))
    store.add(1, 4, posted=2)  # stopped halfway by a previous run
    store.add(2, 3, state="failed", at=NINE - dt.timedelta(minutes=40))  # its retry time has come
    store.add(3, 3, state="failed", at=NINE + dt.timedelta(hours=1))  # not yet
    store.add(4, 2)  # plain approved: waits for a slot
    done = daemon.continue_due()
    assert [(o.slot, o.outcome, o.publication.publication_id, o.publication.posts) for o in done] == [
        (None, "posted", 1, 2), (None, "posted", 2, 3)]
    assert [c[2] for c in store.claims] == ["resuming (approved) by publisher run",
                                             "retrying (failed) by publisher run"]
    assert daemon.continue_due() == []
    assert daemon.ledger.rows() == []  # no slot was used
    clock.set(NINE)
    assert outcomes(daemon.tick()) == [("09:00", "posted")]
    assert [c[0] for c in pub.calls] == [1, 2, 4]


def test_continuing_work_waits_for_the_end_of_quiet_hours_unless_partly_posted(make):
    quiet = "quiet_hours: {start: '22:00', end: '07:00'}"
    daemon, store, pub, clock = make(utc(2024, 6, 14, 15), quiet=quiet)  # 23:00 CST
    store.add(1, 3, state="scheduled", at=utc(2024, 6, 14, 15))  # e.g. approved for a time in the night
    store.add(2, 4, posted=1)  # a thread already partly out
    assert [(o.publication.publication_id, o.outcome) for o in daemon.continue_due()] == [(2, "posted")]
    clock.set(utc(2024, 6, 14, 23))  # 07:00 CST
    assert [(o.publication.publication_id, o.outcome) for o in daemon.continue_due()] == [(1, "posted")]


def test_continuing_work_respects_the_quota(make, caplog):
    daemon, store, pub, clock = make(NINE - dt.timedelta(minutes=30), quota=5)
    store.posts += [("x", NINE - dt.timedelta(hours=3))] * 3  # 2 left of 5
    store.add(1, 6, posted=3)  # 3 more to send
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert daemon.continue_due() == []
        assert daemon.continue_due() == []
    waits = [r.getMessage() for r in caplog.records if "waits for quota" in r.getMessage()]
    assert waits == ["x: article 201 thread 101 publication 1 waits for quota: 3 posts to send, 2 left"]
    clock.set(NINE + dt.timedelta(hours=21))  # the 3 posts left the window
    assert [o.outcome for o in daemon.continue_due()] == ["posted"]


def test_a_blocked_account_is_said_in_the_slot_not_idle(make, caplog):
    daemon, store, pub, clock = make(NINE)
    store.add(1, 2)
    store.problems["x"] = "blocked: x rejected the credentials"
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "account")]
    assert pub.calls == []
    assert any("09:00:00 CST: account: blocked: x rejected the credentials" in r.getMessage() for r in caplog.records)


def test_the_platform_s_own_daily_count_is_respected(make, caplog):
    daemon, store, pub, clock = make(NINE)
    store.remaining["x"] = 2  # X's x-user-limit-24hour-remaining said so
    store.add(1, 3)
    with caplog.at_level(logging.INFO, logger="publisher"):
        assert outcomes(daemon.tick()) == [("09:00", "quota")]
    assert any("x says 2 are left in its 24-hour window" in r.getMessage() for r in caplog.records)
    assert pub.calls == []


def test_a_withdrawn_approval_between_listing_and_claiming_takes_the_next(make):
    daemon, store, pub, clock = make(NINE)
    store.add(1, 2)
    store.add(2, 2)
    real_claim = store.claim

    def racing_claim(pid, now, reason):
        if pid == 1:
            store.withdraw(1)  # someone edited it: approval withdrawn
        return real_claim(pid, now, reason)

    store.claim = racing_claim
    assert outcomes(daemon.tick()) == [("09:00", "posted")]
    assert pub.calls == [(2, "x", "main")]


def test_dst_day_slots_in_new_york(make):
    # 02:30 does not exist on 2024-03-10: the slot is at 03:00 EDT (07:00 UTC), once.
    daemon, store, pub, clock = make(utc(2024, 3, 10, 6, 59), zone="America/New_York", times='"02:30"')
    store.add(1, 1)
    store.add(2, 1)
    assert daemon.tick() == []
    clock.set(utc(2024, 3, 10, 7, 0))
    assert outcomes(daemon.tick()) == [("03:00", "posted")]
    clock.set(utc(2024, 3, 10, 7, 35))  # the naive reading of 02:30 EST would be 07:30 UTC: nothing
    assert daemon.tick() == []
    assert len(pub.calls) == 1


def test_dst_fall_back_posts_once_in_berlin(make):
    # 02:30 happens twice on 2024-10-27 in Berlin: the first time (00:30 UTC) only.
    daemon, store, pub, clock = make(utc(2024, 10, 27, 0, 30), zone="Europe/Berlin", times='"02:30"')
    store.add(1, 1)
    store.add(2, 1)
    assert outcomes(daemon.tick()) == [("02:30", "posted")]
    clock.set(utc(2024, 10, 27, 1, 30))  # 02:30 again, in winter time
    assert daemon.tick() == []
    assert len(pub.calls) == 1


# --- forecast and quota status for `publisher schedule` ----------------------------------------


def test_forecast_assigns_threads_to_coming_slots_within_quota(make):
    daemon, store, pub, clock = make(NINE - dt.timedelta(minutes=1), quota=10)
    store.add(1, 6)
    store.add(2, 6)
    store.add(3, 3)
    planned = forecast(daemon.schedule, store, clock.now(), clock.now() + dt.timedelta(days=2), environ=CREDS)
    got = [(p.slot.local.strftime("%d %H:%M"), p.outcome, p.item.publication_id if p.item else None)
           for p in planned]
    # 09:00 takes #1 (6 of 10); 12:00: #2 does not fit, #3 does (3); 18:00: 1 left -> waits;
    # next day 09:00 the first thread's 6 posts have just left the 24-hour window -> #2 fits.
    assert got[:5] == [("14 09:00", "post", 1), ("14 12:00", "post", 3), ("14 18:00", "quota", None),
                       ("15 09:00", "post", 2), ("15 12:00", "idle", None)]
    statuses = quota_status(daemon.schedule, store, clock.now(), environ=CREDS)
    assert [(s.platform, s.account, s.used, s.remaining, s.quota) for s in statuses] == [("x", "main", 0, 10, 10)]


# --- the ledger, the lock, the watcher, the scanner -------------------------------------------


def test_the_ledger_takes_a_slot_once(tmp_path):
    ledger = SlotLedger(tmp_path / "q.db")
    assert ledger.begin("x", NINE, NINE)
    assert not ledger.begin("x", NINE, NINE)
    assert not SlotLedger(tmp_path / "q.db").record("x", NINE, NINE, "missed")  # same file, other object
    assert ledger.last("x") == NINE and ledger.last("mastodon") is None


def test_the_lock_keeps_a_second_run_out_and_dies_with_its_process(tmp_path):
    db = tmp_path / "q.db"
    with DaemonLock(db):
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
            DaemonLock(db).acquire()
    DaemonLock(db).acquire().release()
    # A process holding the lock is killed: the kernel releases it.
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from publisher.daemon.runtime import DaemonLock\n"
            "DaemonLock(%r).acquire(); print('locked', flush=True); time.sleep(60)") % (str(Path.cwd()), str(db))
    proc = subprocess.Popen([sys.executable, "-c", code], env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld, match=f"pid {proc.pid}"):
            DaemonLock(db).acquire()
    finally:
        proc.kill()
        proc.wait()
    DaemonLock(db).acquire().release()


def test_schedule_edits_take_effect_and_a_bad_edit_keeps_the_old_one(tmp_path, caplog):
    path = write_schedule(tmp_path / "schedule.yaml")
    watcher = ScheduleWatcher(path)
    assert not watcher.poll()
    write_schedule(path, times='"10:00"')
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert watcher.poll()
    assert watcher.schedule.platforms["x"].slots[0].times == (dt.time(10),)
    path.write_text(path.read_text() + "bogus_key: 1\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="publisher"):
        assert not watcher.poll()
        assert not watcher.poll()  # reported once per bad version
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:") and "bogus_key: unknown key" in errors[0]
    assert "keeping the previous schedule" in errors[0]
    assert watcher.schedule.platforms["x"].slots[0].times == (dt.time(10),)


def test_the_daemon_reloads_the_schedule_before_slots(make, tmp_path):
    daemon, store, pub, clock = make(NINE)
    store.add(1, 1)
    write_schedule(tmp_path / "schedule.yaml", misfire="skip", times='"09:00"', quota=17,
                   extra="  mastodon:\n    slots: [{times: ['09:00']}]\n")
    os.utime(tmp_path / "schedule.yaml", ns=(time.time_ns(), time.time_ns() + 5_000_000))
    report = daemon.run_once()
    assert daemon.schedule.misfire == "skip"
    assert sorted(o.platform for o in report.slots) == ["mastodon", "x"]


def test_scanner_offers_new_and_changed_files_once_and_waits_for_settled_ones(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    schedule_path = write_schedule(tmp_path / "schedule.yaml")
    schedule_path.write_text(schedule_path.read_text() + "sources:\n  - {path: inbox, platforms: [x]}\n",
                             encoding="utf-8")
    schedule = ScheduleWatcher(schedule_path).schedule
    old = time.time() - 60
    for name in ("a.md", "sub/b.txt", ".hidden.md", "c.en.md", "notes.pdf"):
        (inbox / name).write_text("正文", encoding="utf-8")
        os.utime(inbox / name, (old, old))
    scanner = SourceScanner(settle=5)
    found = [p.relative_to(inbox).as_posix() for p, _ in scanner.changed(schedule)]
    assert found == ["a.md", "sub/b.txt"]
    for p, _ in scanner.changed(schedule):
        scanner.done(p)
    assert scanner.changed(schedule) == []
    (inbox / "a.md").write_text("正文，改了", encoding="utf-8")  # just written: not settled yet
    assert scanner.changed(schedule) == []
    os.utime(inbox / "a.md", (old + 1, old + 1))
    assert [p.name for p, _ in scanner.changed(schedule)] == ["a.md"]


def test_one_bad_file_does_not_stop_the_others(make, tmp_path, caplog):
    daemon, store, pub, clock = make(NINE)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = tmp_path / "schedule.yaml"
    path.write_text(path.read_text() + "sources:\n  - {path: inbox, platforms: [x], auto_approve: true}\n",
                    encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000))
    daemon.watcher.poll()
    old = time.time() - 60
    for name in ("a.md", "b.md", "c.md"):
        (inbox / name).write_text(name, encoding="utf-8")
        os.utime(inbox / name, (old, old))
    seen = []

    def ingest(p, source, now):
        seen.append(p.name)
        if p.name == "a.md":
            raise RuntimeError("boom")
        if p.name == "b.md":
            from publisher.errors import InputError

            raise InputError(p, "not UTF-8 text")
        return IngestResult("new", article_id=5, publication_ids=(9,), approved=(9,) if source.auto_approve else ())

    daemon.ingest = ingest
    with caplog.at_level(logging.INFO, logger="publisher"):
        results = daemon.scan()
    assert seen == ["a.md", "b.md", "c.md"]
    assert [r.status for r in results] == ["failed", "failed", "new"]
    lines = [r.getMessage() for r in caplog.records]
    assert any("b.md: not UTF-8 text" in m for m in lines)
    assert any(m.endswith("c.md: new article 5 publications 9, approved 9") for m in lines), lines
    assert daemon.scan() == []  # not retried until the files change


# --- the APScheduler loop ---------------------------------------------------------------------


def test_slot_trigger_follows_the_dst_rule_and_the_clock_offset():
    from zoneinfo import ZoneInfo

    trigger = make_slot_trigger(ZoneInfo("America/New_York"), (6,), dt.time(2, 30))
    first = trigger.get_next_fire_time(None, utc(2024, 3, 9))
    assert first == utc(2024, 3, 10, 7)  # Sunday 03:00 EDT: the gap rule
    assert trigger.get_next_fire_time(first, utc(2024, 3, 10, 7)) == utc(2024, 3, 17, 6, 30)
    shifted = make_slot_trigger(ZoneInfo("America/New_York"), (6,), dt.time(2, 30), dt.timedelta(days=-3650))
    real = shifted.get_next_fire_time(None, utc(2034, 3, 6))
    assert real + dt.timedelta(days=-3650) == utc(2024, 3, 10, 7)


def test_serve_fires_slots_on_time_and_stops_cleanly_mid_thread(tmp_path):
    """The real APScheduler loop: slots a few seconds apart, then a stop during a slow thread."""
    path = write_schedule(tmp_path / "schedule.yaml", times='"08:59:59", "09:00:01", "09:00:03"', zone="UTC",
                          quota=100)
    start = utc(2024, 6, 14, 8, 59, 58)
    clock = ShiftedClock(start)
    store = FakeStore()
    pub = FakePublisher(store, clock)
    daemon = Daemon(watcher=ScheduleWatcher(path), store=store, publish=pub, ingest=None,
                    ledger=SlotLedger(tmp_path / "q.db"), clock=clock, environ=CREDS)
    store.add(1, 1)
    store.add(2, 1)
    store.add(3, 20)  # a long thread, posted slowly
    stop = threading.Event()
    runner = threading.Thread(target=daemon.serve, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(pub.calls) < 3 and time.monotonic() < deadline:
            if len(pub.calls) == 2:
                pub.delay = 0.2
            time.sleep(0.05)
        assert [c[0] for c in pub.calls] == [1, 2, 3]
        time.sleep(0.5)  # a couple of posts of the long thread are out
    finally:
        stop.set()
        runner.join(15)
    assert not runner.is_alive()
    posted_long = sum(1 for p, t in store.posts) - 2
    assert 1 <= posted_long < 20
    assert store.state(3) == "approved" and 1 <= store.posted(3) < 20  # the rest goes out at the next start
    rows = {r.slot_at.strftime("%H:%M:%S"): r.outcome for r in daemon.ledger.rows("x")}
    assert rows == {"08:59:59": "posted", "09:00:01": "posted", "09:00:03": "approved"}
    # fired at the slot times (the clock ran in real time from 08:59:58)
    fired = sorted(c[1].replace(microsecond=0) for c in store.claims)
    assert fired == [utc(2024, 6, 14, 8, 59, 59), utc(2024, 6, 14, 9, 0, 1), utc(2024, 6, 14, 9, 0, 3)]


def test_serve_picks_up_an_edited_schedule_without_restart(tmp_path):
    path = write_schedule(tmp_path / "schedule.yaml", times='"12:00"', zone="UTC")
    path.write_text(path.read_text().replace("platforms:", "scan_every: 1s\nplatforms:"), encoding="utf-8")
    clock = ShiftedClock(utc(2024, 6, 14, 9, 0, 0))
    store = FakeStore()
    pub = FakePublisher(store, clock)
    store.add(1, 1)
    daemon = Daemon(watcher=ScheduleWatcher(path), store=store, publish=pub, ingest=None,
                    ledger=SlotLedger(tmp_path / "q.db"), clock=clock, environ=CREDS)
    stop = threading.Event()
    runner = threading.Thread(target=daemon.serve, args=(stop,))
    runner.start()
    try:
        time.sleep(0.5)
        assert pub.calls == []
        # move the slot to 3 seconds from (virtual) now
        soon = (clock.now() + dt.timedelta(seconds=3)).strftime("%H:%M:%S")
        path.write_text(path.read_text().replace('"12:00"', f'"{soon}"'), encoding="utf-8")
        deadline = time.monotonic() + 10
        while not pub.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pub.calls == [(1, "x", "main")]
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
