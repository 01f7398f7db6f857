"""After a clock fault: what the database recorded in the future, and repairing it.

A run with the system clock years ahead (an RTC or NTP fault) records slots handled at those
future times; back on the right clock, the daemon would count every slot until then as handled
and post nothing for years. The daemon therefore never trusts a slot recorded more than
:data:`TOLERANCE` after its clock (it says the clock looks wrong), and
``publisher db repair-clock`` removes those records for good.

What the repair changes: slot records in the future are deleted (they were never real slots);
retries and account pauses computed from the wrong clock (a failed publication or an account
whose last change is in the future) are due now. What it never changes: a publication's state
(so nothing posted is posted again), the permanent post records (``post_results``) and the
history (``events``) — it adds one event per publication it touched.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from publisher.clock import ts_seconds

#: How far after the clock a recorded time may be and still be trusted.
TOLERANCE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ClockReport:
    slots: int
    """Slot records in the future."""
    retries: int
    """Failed publications whose retry time came from a clock in the future."""
    pauses: int
    """Accounts paused until a time computed from a clock in the future."""
    posts: int
    """Posts recorded with a time in the future (permanent records, never changed)."""
    latest: str | None

    @property
    def anything(self) -> bool:
        return bool(self.slots or self.retries or self.pauses)


def inspect(db: sqlite3.Connection, now: dt.datetime) -> ClockReport:
    from publisher.clock import ts

    limit_slot = ts_seconds(now + TOLERANCE)
    limit_ts = ts(now + TOLERANCE)
    slots = db.execute("SELECT count(*), max(slot_at) FROM schedule_slots WHERE slot_at > ? OR handled_at > ?",
                       (limit_slot, limit_slot)).fetchone()
    retries = db.execute("SELECT count(*) FROM publications WHERE state = 'failed' AND updated_at > ?",
                         (limit_ts,)).fetchone()[0]
    pauses = db.execute("SELECT count(*) FROM accounts WHERE paused_until > ? AND paused_until > ?",
                        (limit_ts, ts(now + dt.timedelta(hours=25)))).fetchone()[0]
    posts = db.execute("SELECT count(*) FROM post_results WHERE posted_at > ?", (limit_ts,)).fetchone()[0]
    return ClockReport(slots=slots[0], retries=retries, pauses=pauses, posts=posts, latest=slots[1])


def repair(db: sqlite3.Connection, now: dt.datetime) -> ClockReport:
    """Remove what a clock in the future recorded (see the module docstring), in one transaction."""
    from publisher.clock import ts

    report = inspect(db, now)
    limit_slot = ts_seconds(now + TOLERANCE)
    limit_ts = ts(now + TOLERANCE)
    stamp = ts(now)
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM schedule_slots WHERE slot_at > ? OR handled_at > ?", (limit_slot, limit_slot))
        ids = [r[0] for r in db.execute("SELECT id FROM publications WHERE state = 'failed' AND updated_at > ?",
                                        (limit_ts,))]
        for pub_id in ids:
            db.execute("UPDATE publications SET next_try_at = ?, due_at = ?, updated_at = ? WHERE id = ?",
                       (stamp, stamp, stamp, pub_id))
            db.execute("INSERT INTO events (publication_id, at, from_state, to_state, reason) "
                       "VALUES (?, ?, 'failed', 'failed', ?)",
                       (pub_id, stamp, "publisher db repair-clock: retry time came from a clock in the future; due now"))
        db.execute("UPDATE accounts SET paused_until = ? WHERE paused_until > ? AND paused_until > ?",
                   (stamp, limit_ts, ts(now + dt.timedelta(hours=25))))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return report
