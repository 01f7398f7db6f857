"""`publisher run --now TIME` posts for real and records TIME: it must never run a database's time
ahead of the real clock (the real daemon would skip every slot until then) nor backwards (posts
would leave the rolling 24-hour quota early and X's daily cap could be overrun)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import textwrap

import pytest

from conftest import run_cli, subprocess_env
from factories import store
from publisher.daemon.runtime import NOW_GRACE, check_now
from publisher.daemon.wiring import build_daemon
from publisher.errors import ClockRefused
from publisher.queue.ledger import SlotLedger, latest_recorded
from publisher.queue.outbox import Outbox
from publisher.platforms.dryrun import DryRunPlatform
from publisher.publishing.publish import publish_publication
from publisher.schedule.config import UTC

SCHEDULE = textwrap.dedent("""\
    timezone: Asia/Shanghai
    platforms:
      x:
        slots:
          - days: daily
            times: ["09:00", "12:00"]
    """)
CREDS = {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "u"}


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _rows(db) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT count(*) FROM schedule_slots").fetchone()[0],
                conn.execute("SELECT count(*) FROM post_results").fetchone()[0])
    finally:
        conn.close()


def test_latest_recorded_is_the_latest_post_or_handled_slot(tmp_path):
    db = tmp_path / "q.db"
    with Outbox.open(db) as outbox:
        assert latest_recorded(outbox.db) is None
        pid = store(outbox, tmp_path / "in", "a.md", auto_approve=True).publications[0]
        publish_publication(outbox, pid, DryRunPlatform(), now=utc(2024, 6, 14, 1, 0, 30))
        assert latest_recorded(outbox.db) == utc(2024, 6, 14, 1, 0, 30)
        ledger = SlotLedger(db)
        ledger.record("x", utc(2024, 6, 14, 4), utc(2024, 6, 14, 4, 1), "idle")
        assert latest_recorded(outbox.db) == utc(2024, 6, 14, 4, 1)


def test_check_now_refuses_the_future_and_going_backwards():
    real = utc(2026, 1, 10, 12)
    check_now(real - dt.timedelta(days=500), real, None)  # a fresh database: any past time
    check_now(real + NOW_GRACE, real, None)  # a slot time typed a moment early
    with pytest.raises(ClockRefused, match="later than the clock.*skip every real slot.*PUBLISHER_DB"):
        check_now(real + NOW_GRACE + dt.timedelta(seconds=1), real, None)
    latest = utc(2024, 6, 14, 4)
    check_now(latest, real, latest)
    with pytest.raises(ClockRefused, match="earlier than the latest time.*never goes backwards.*PUBLISHER_DB"):
        check_now(latest - dt.timedelta(seconds=1), real, latest)


def test_build_daemon_checks_now_before_anything_is_recorded(tmp_path):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    db = tmp_path / "q.db"
    with pytest.raises(ClockRefused):
        with build_daemon(schedule, db=db, now=dt.datetime.now(UTC) + dt.timedelta(days=1)):
            pass
    assert _rows(db) == (0, 0)
    with build_daemon(schedule, db=db, now=utc(2024, 6, 14, 1)) as daemon:
        assert abs(daemon.clock.now() - utc(2024, 6, 14, 1)) < dt.timedelta(seconds=5)


def test_cli_refuses_a_future_now_and_a_now_before_what_the_database_recorded(tmp_path):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    db = tmp_path / "q.db"
    env = subprocess_env(PUBLISHER_DB=str(db), **CREDS)
    args = ("run", "--once", "--schedule", str(schedule), "--now")

    tomorrow = (dt.datetime.now(UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    proc = run_cli(*args, tomorrow, env=env)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "later than the clock" in errors[0] and "PUBLISHER_DB" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert _rows(db) == (0, 0)  # nothing recorded

    proc = run_cli(*args, "2024-06-14T09:00", env=env)  # a fresh database: a rehearsal in the past is fine
    assert proc.returncode == 0, proc.stderr
    assert "slot 2024-06-14 09:00:00 CST: idle" in proc.stderr
    proc = run_cli(*args, "2024-06-14T08:00", env=env)  # back before the slot it handled
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "earlier than the latest time this database recorded" in errors[0], proc.stderr
    assert "2024-06-14 09:00:00 CST" in errors[0] and "PUBLISHER_DB" in errors[0]
    assert _rows(db) == (1, 0)
    proc = run_cli(*args, "2024-06-14T12:00:30", env=env)  # forwards is fine
    assert proc.returncode == 0, proc.stderr
    assert _rows(db) == (2, 0)


def test_a_database_that_recorded_the_future_is_said_at_start(tmp_path, caplog):
    """Left by an older publisher that accepted a future --now: say why slots seem used up."""
    import logging

    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    db = tmp_path / "q.db"
    future = dt.datetime.now(UTC) + dt.timedelta(days=3)
    SlotLedger(db).record("x", future, future, "idle")
    with caplog.at_level(logging.WARNING, logger="publisher"):
        with build_daemon(schedule, db=db):
            pass
    assert any("clock looks wrong" in r.getMessage() and "later than the clock" in r.getMessage()
               and "publisher db repair-clock" in r.getMessage() for r in caplog.records), caplog.records
