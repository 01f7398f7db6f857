"""The outbox's connection: one write transaction at a time (nested ones are savepoints), and the
one writer of state changes (:meth:`Store._transition`: check the move, clear the columns of the
state it leaves, log the event in the same transaction).

The parts of :class:`publisher.queue.outbox.Outbox` (reads, intake, review, claims, posting,
accounts) are built on this class; :meth:`Outbox.open` makes the connection.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from publisher.clock import ts
from publisher.errors import StoreError
from publisher.queue.owner import current_owner
from publisher.queue.states import TRANSITIONS, state_columns

_S = TypeVar("_S", bound="Store")


class Store:
    """A queue database connection; one instance may be shared by threads.

    ``owner``: the claim this outbox writes when it takes a publication (default: this thread of
    this process, :func:`publisher.queue.owner.current_owner`); a test can pass another
    process's identity (a string, or a function returning one) to act as that process.
    """

    def __init__(self, db: sqlite3.Connection, path: Path | str, *, owner: str | Callable[[], str] | None = None):
        self.db = db
        self.path = path
        #: On a PostgreSQL server (publisher.queue.pgstore): claims lock rows and carry a lease.
        self.postgres = bool(getattr(db, "is_postgres", False))
        #: The migrations this open applied (``publisher db migrate`` prints them).
        self.applied: list[str] = list(getattr(db, "applied", ()))
        self._lock = threading.RLock()
        self._depth = 0
        self._owner = owner

    read_only = False
    """True when opened read-only (a read-only filesystem): no writes, no recovery."""

    def me(self) -> str:
        """The owner this outbox writes in the publications it claims (``host:pid:start:boot:pidns/thread``)."""
        if self._owner is None:
            return current_owner()
        return self._owner() if callable(self._owner) else self._owner

    def close(self) -> None:
        self.db.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints.

        Wrap many :meth:`add_article` calls in one to store a batch with a single commit.
        """
        with self._lock:
            depth = self._depth
            self.db.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self._depth = depth
                if depth == 0:
                    self.db.execute("ROLLBACK")
                else:
                    self.db.execute(f"ROLLBACK TO sp{depth}")
                    self.db.execute(f"RELEASE sp{depth}")
                raise
            else:
                self._depth = depth
                self.db.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")

    # -- the state machine's writer ----------------------------------------------------------

    def _event(self, pub_id: int, from_state: str | None, to_state: str, now: dt.datetime, reason: str,
               post_index: int | None = None) -> None:
        self.db.execute("INSERT INTO events (publication_id, at, from_state, to_state, post_index, reason) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (pub_id, ts(now), from_state, to_state, post_index, reason))

    def _transition(self, pub_id: int, to_state: str, now: dt.datetime, reason: str, *,
                    post_index: int | None = None, **fields: Any) -> None:
        """Move one publication (inside a transaction), check the move is allowed, log it.

        Columns that only mean something in some states are cleared when leaving them, and
        ``due_at`` follows from the new state unless given (:func:`publisher.queue.states.state_columns`).
        """
        row = self.db.execute("SELECT state, approved_at, scheduled_at, next_try_at FROM publications WHERE id = ?",
                              (pub_id,)).fetchone()
        if row is None:
            raise StoreError(f"no publication {pub_id}")
        from_state, approved_at, scheduled_at, next_try_at = row
        if to_state not in TRANSITIONS[from_state]:
            raise StoreError(f"publication {pub_id} is {from_state}; it cannot become {to_state}")
        state_columns(to_state, fields, approved_at=approved_at, scheduled_at=scheduled_at, next_try_at=next_try_at)
        fields.update(state=to_state, note=reason, updated_at=ts(now))
        columns = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE publications SET {columns} WHERE id = ?", (*fields.values(), pub_id))
        self._event(pub_id, from_state, to_state, now, reason, post_index)

    def _account_update(self, platform: str, account: str, **fields: Any) -> None:
        self.db.execute("INSERT INTO accounts (platform, account) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (platform, account))
        columns = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE accounts SET {columns} WHERE platform = ? AND account = ?",
                        (*fields.values(), platform, account))
