"""The outbox: one database that says what exists, what is approved and what was posted.

A SQLite file by default; a PostgreSQL server when ``PUBLISHER_DB`` is a ``postgresql://`` URL
(:mod:`publisher.queue.pgstore`: the same SQL and the same rules, with row locks and leases so that
daemons on several hosts share one queue).

It holds articles (one row per revision of a file), their translations, the thread rendered
for each platform (immutable; an edit stores a new thread) and one *publication* per article
revision and platform, moved through a state machine (:mod:`publisher.queue.states`)::

    draft ─► approved ─► scheduled ─► publishing ─► posted
                 ▲            │            ├──────► failed           (retryable: attempts, next try)
                 └────────────┘            ├──────► needs_attention  (outcome unknown, or a permanent error)
    (any state before posted) ───────────────────► rejected

Every transition is written to ``events`` with its time and reason, in the same transaction as
the change. Rules that make the queue trustworthy:

* Approval is bound to the content hash it approved (:attr:`Thread.content_hash`); editing
  withdraws it, and a thread whose content no longer matches its approval is never posted.
* Before each network call the publication is marked ``publishing`` with the index of the post
  in flight (:meth:`Outbox.begin_post`); the platform's post id is stored in the same
  transaction that clears that mark (:meth:`Outbox.record_post`). A process that dies in
  between leaves the mark behind, and :meth:`Outbox.recover` turns it into
  ``needs_attention`` naming that exact post: never a blind repost. A person settles it with
  :meth:`Outbox.resolve`.
* A changed file (new ``source_hash`` for the same path) is a new revision whose threads need
  approval again; unchanged bytes do nothing.

The library API (used by the CLI, the scheduler and :mod:`publisher.publishing.publish`):

=============================================  ===============================================
``Outbox.open(path=None)``                      open (create, migrate) the database
``add_article(article, translated, threads)``   store a revision and its drafts -> :class:`Ingested`
``get / thread / history / rows / counts``     read one publication, or list them
``approve / reject / retry / resolve``          what a person does (``approve_article``: all platforms;
                                                ``release_claim``: free a claim nobody here can check);
                                                an edit is :func:`publisher.publishing.editing.edit_publication`,
                                                stored with ``replace_thread``
``due(platform, now)``                          approved work that could be posted now (the daemon)
``claim / release / schedule``                  take one (the daemon), give it back, move it in time
``claim_next(platform, now, max_posts=)``       due + claim in one step within a quota (not used by
                                                the daemon)
``posts_since(platform, since, account=)``      posts sent in a window (quota accounting)
``account_state / block_account / unblock_..``  stopped (auth) and paused (429) accounts
``recover(now)``                                settle publications whose process died
``begin_post / record_post / apply``           the steps :func:`publish_publication` takes (``apply``
                                                stores what :mod:`publisher.publishing.failures` decided)
=============================================  ===============================================

Times are timezone-aware datetimes; they are stored as UTC ISO-8601 text (:func:`publisher.clock.ts`).

The class is composed of parts, one module each: :mod:`~publisher.queue.store` (connection,
transactions, the state writer), :mod:`~publisher.queue.reads`, :mod:`~publisher.queue.review`
(what people do), :mod:`~publisher.queue.intake` (new revisions, edited threads),
:mod:`~publisher.queue.claims` (due, claim, release, recover), :mod:`~publisher.queue.posting`
and :mod:`~publisher.queue.accounts`. Records are in :mod:`~publisher.queue.records`, process
identity in :mod:`~publisher.queue.owner`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from publisher.clock import ts, utcnow
from publisher.errors import StoreError
from publisher.queue.accounts import Accounts
from publisher.queue.intake import Intake
from publisher.queue.posting import Posting


class Outbox(Intake, Posting, Accounts):
    """The queue database. Open with :meth:`Outbox.open`; one instance may be shared by threads."""

    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only_ok: bool = False,
             owner: str | Callable[[], str] | None = None) -> "Outbox":
        """Open the queue database (``PUBLISHER_DB`` by default), creating and migrating it.

        WAL journal (readers never block the publisher), ``synchronous=FULL`` (a post id that
        was committed survives a power cut), foreign keys on. A new file is readable by its
        owner only (0600: it holds article text and account state); SQLite gives its -wal and
        -shm files the database file's permissions. An existing file keeps its permissions.

        ``owner``: the process identity its claims carry (default: this thread of this process;
        see :class:`publisher.queue.store.Store`).
        """
        if path is None:
            from publisher import config

            path = config.require_database() if config.DATABASE_MUST_EXIST else config.Paths.from_env().db
        from publisher.queue.database import is_postgres

        if is_postgres(path):  # PUBLISHER_DB=postgresql://...: the server backend (publisher.queue.pgstore)
            from publisher.queue.database import shown
            from publisher.queue.pgstore import open_connection

            return cls(open_connection(str(path), ts(utcnow())), shown(path), owner=owner)  # type: ignore[arg-type]
        path = Path(path)
        from publisher.queue import db as storage

        storage.refuse_empty(path)  # a zero-byte file is a lost queue, not a new one
        created = False
        try:
            storage.private_folder(path.parent)
            created = storage.create_private(path)
            db = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            if read_only_ok and path.exists() and storage.is_read_only(exc):
                return cls._open_read_only(path, owner)
            raise storage.explain(path, exc) or StoreError(f"{path}: cannot open the queue database: {exc}") from None
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            if not created:
                storage.refuse_damaged(db, path)  # PRAGMA quick_check: never write into a damaged file
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            from publisher.queue import schema as migrations

            applied = migrations.apply(db, ts(utcnow()))  # type: ignore[arg-type]
        except StoreError:
            db.close()
            raise
        except sqlite3.DatabaseError as exc:
            db.close()
            if read_only_ok and storage.is_read_only(exc):
                return cls._open_read_only(path, owner)
            failure = storage.explain(path, exc)
            if failure is not None:
                raise failure from None
            raise StoreError(f"{path}: not a usable publisher database: {exc}") from None
        except BaseException:
            db.close()
            raise
        box = cls(db, path, owner=owner)
        box.applied = applied
        return box

    @classmethod
    def _open_read_only(cls, path: Path, owner: str | Callable[[], str] | None = None) -> "Outbox":
        """For reading on a read-only filesystem (``queue``, ``show``): no migrations, no writes."""
        from publisher.queue import db as storage

        try:
            db = storage.open_read_only(path)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the queue database, even for reading: {exc}") from None
        storage.refuse_damaged(db, path)
        box = cls(db, path, owner=owner)
        box.read_only = True
        return box
