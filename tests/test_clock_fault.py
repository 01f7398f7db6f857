"""A clock fault (#11): the clock 10 years ahead for one run, then right again. Slots recorded in
the future are not trusted as handled, and `publisher db repair-clock` clears them without
ever posting again what was posted."""

from __future__ import annotations

import datetime as dt
import textwrap

from conftest import run_cli, subprocess_env
from factories import store
from publisher.queue.ledger import SlotLedger
from publisher.queue.outbox import Outbox
from publisher.schedule.config import UTC


def test_clock_ahead_then_back_slots_are_not_lost_and_repair_clock_clears_the_future(tmp_path):
    db = tmp_path / "publisher.db"
    now = dt.datetime.now(UTC).replace(microsecond=0)
    future = now + dt.timedelta(days=3650)
    with Outbox.open(db) as box:
        waiting = store(box, tmp_path / "in", "waiting.md").publications[0]
        box.approve(waiting)
    ledger = SlotLedger(db)
    ledger.record("x", future, future, "posted")
    # back on the right clock: the 2036 slot is not trusted as the last one handled
    assert ledger.last("x") == future
    assert ledger.last("x", now) is None
    earlier = now - dt.timedelta(hours=1)
    ledger.record("x", earlier, now, "idle")
    assert ledger.last("x", now) == earlier

    env = subprocess_env(PUBLISHER_DB=str(db), PUBLISHER_DEBUG="")
    dry = run_cli("db", "repair-clock", "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0 and "would remove 1 slot record" in dry.stdout, dry.stdout + dry.stderr
    assert ledger.last("x") == future  # a dry run changes nothing
    proc = run_cli("db", "repair-clock", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "removed 1 slot record" in proc.stdout and "nothing posted is changed" in proc.stdout
    assert ledger.last("x") == earlier
    with Outbox.open(db) as box:
        assert box.get(waiting).state == "approved"  # still waits for its slot, exactly once
        states_before = {r.id: r.state for r in box.rows()}
    again = run_cli("db", "repair-clock", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "removed 0 slot record" in again.stdout
    with Outbox.open(db) as box:
        assert {r.id: r.state for r in box.rows()} == states_before


def test_the_daemon_says_the_clock_looks_wrong_and_still_uses_the_real_slots(tmp_path):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(textwrap.dedent("""\
        timezone: UTC
        misfire: catch_up_one
        platforms:
          x:
            slots: [{times: ["00:00", "06:00", "12:00", "18:00"]}]
        """), encoding="utf-8")
    db = tmp_path / "publisher.db"
    Outbox.open(db).close()
    now = dt.datetime.now(UTC)
    future = now + dt.timedelta(days=3650)
    latest_slot = now.replace(hour=now.hour - now.hour % 6, minute=0, second=0, microsecond=0)
    before = latest_slot - dt.timedelta(hours=12)  # a real slot handled before the fault
    SlotLedger(db).record("x", before, before, "idle")
    SlotLedger(db).record("x", future, future, "idle")  # the run with the clock ten years ahead
    env = subprocess_env(PUBLISHER_DB=str(db), PUBLISHER_DEBUG="")
    proc = run_cli("run", "--once", "--schedule", str(schedule), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "clock looks wrong" in proc.stderr and "repair-clock" in proc.stderr
    # the slot that came last (within the last 6 hours) was handled for real, not skipped as "handled"
    handled = {r.slot_at for r in SlotLedger(db).rows("x")}
    assert latest_slot in handled, (sorted(handled), proc.stderr)  # the real slots since were handled
