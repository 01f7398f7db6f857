"""The outbox: one database that says what exists, what is approved and what was posted.

A SQLite file by default; a PostgreSQL server when ``PUBLISHER_DB`` is a ``postgresql://`` URL
(:mod:`publisher.queue.pgstore`: the same SQL and the same rules, with row locks and leases so that
daemons on several hosts share one queue).

It holds articles (one row per revision of a file), their translations, the thread rendered
for each platform (immutable; an edit stores a new thread) and one *publication* per article
revision and platform, moved through a state machine::

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
``approve / reject / edit / retry / resolve``   what a person does (``approve_article``: all platforms;
                                                ``release_claim``: free a claim nobody here can check)
``due(platform, now)``                          approved work that could be posted now (the daemon)
``claim / release / schedule``                  take one (the daemon), give it back, move it in time
``claim_next(platform, now, max_posts=)``       due + claim in one step within a quota (not used by
                                                the daemon)
``posts_since(platform, since, account=)``      posts sent in a window (quota accounting)
``account_state / block_account / unblock_..``  stopped (auth) and paused (429) accounts
``recover(now)``                                settle publications whose process died
``begin_post / record_post / record_failure``   the steps :func:`publish_publication` takes
=============================================  ===============================================

Times are timezone-aware datetimes; they are stored as UTC ISO-8601 text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sqlite3
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Mapping, Sequence

from publisher.errors import StoreError
from publisher.queue.schema import STATES

if TYPE_CHECKING:
    from publisher.models import Article, Thread, TranslatedArticle
    from publisher.platforms.base import PostRef

State = Literal["draft", "approved", "scheduled", "publishing", "posted", "failed", "needs_attention", "rejected"]

#: Which state may follow which. Anything else is a bug or a refused command.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"draft", "approved", "scheduled", "rejected"}),
    "approved": frozenset({"approved", "scheduled", "publishing", "draft", "rejected"}),
    "scheduled": frozenset({"approved", "scheduled", "publishing", "draft", "rejected"}),
    "publishing": frozenset({"publishing", "posted", "failed", "needs_attention", "approved", "scheduled", "draft"}),
    "failed": frozenset({"failed", "publishing", "approved", "scheduled", "draft", "rejected", "needs_attention"}),
    "needs_attention": frozenset({"approved", "scheduled", "posted", "draft", "rejected"}),
    "posted": frozenset(),
    "rejected": frozenset(),
}
#: States the scheduler may take work from.
READY = ("approved", "scheduled", "failed")
#: Transient failures before a publication is handed to a person.
MAX_ATTEMPTS = 6
#: How long to wait after a 429 that gave no reset time.
DEFAULT_RATE_LIMIT_WAIT = dt.timedelta(minutes=15)

UTC = dt.timezone.utc


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """One thread of one article revision on one platform account, and where it stands."""

    id: int
    article_id: int
    platform: str
    account: str
    thread_id: int
    title: str
    state: State
    content_hash: str
    """Hash of the thread as it is now."""
    approved_hash: str | None
    """Hash of the content that was approved (None: never approved or approval withdrawn)."""
    approved_at: dt.datetime | None
    scheduled_at: dt.datetime | None
    next_try_at: dt.datetime | None
    due_at: dt.datetime | None
    """When the scheduler may take it: approval time, scheduled time or next try."""
    attempts: int
    n_posts: int
    posted_count: int
    """Posts already on the platform (always the first ``posted_count`` of the thread)."""
    owner: str | None
    """The process publishing it (host:pid:start), while ``publishing``."""
    inflight_index: int | None
    """0-based index of the post whose request may be on the wire right now."""
    unknown_index: int | None
    """0-based index of the post whose outcome nobody knows (``needs_attention``)."""
    note: str | None
    """Why it is in its state: the reason of the last transition."""
    created_at: dt.datetime
    updated_at: dt.datetime
    claimed_at: dt.datetime | None = None
    """When ``owner`` claimed it (while ``publishing``)."""
    inflight_since: dt.datetime | None = None
    """When the post in flight (or whose outcome is unknown) was sent."""

    @property
    def approved(self) -> bool:
        """Approved for exactly the content it has now."""
        return self.approved_hash is not None and self.approved_hash == self.content_hash

    @property
    def remaining(self) -> int:
        return self.n_posts - self.posted_count

    @property
    def unknown_post(self) -> int | None:
        """1-based number of the post whose outcome is unknown, as shown to people."""
        return None if self.unknown_index is None else self.unknown_index + 1


@dataclass(frozen=True)
class StoredPost:
    index: int
    text: str
    role: str
    length: int
    limit: int
    post_id: str | None = None
    url: str | None = None
    posted_at: dt.datetime | None = None
    settled_by: str | None = None
    """"platform" when the id came back from the API, "person" when settled with resolve."""
    extra: Mapping[str, Any] | None = None

    @property
    def posted(self) -> bool:
        return self.posted_at is not None


@dataclass(frozen=True)
class StoredThread:
    id: int
    platform: str
    title: str
    content_hash: str
    origin: str
    posts: tuple[StoredPost, ...]
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    media: tuple[Any, ...] = ()
    """The images of the posts (:class:`publisher.models.PostImage`), see :mod:`publisher.media`."""
    card: Any = None
    """The link card (:class:`publisher.models.LinkCard`), Bluesky only."""


#: What a post can be in a thread (publisher.models.PostRole).
POST_ROLES = ("hook", "point", "attribution")


@dataclass(frozen=True)
class EditedPost:
    """One post of a thread edited by hand (:meth:`Outbox.edit`)."""

    text: str
    role: str
    """hook, point or attribution: what the post is, whatever its place."""


@dataclass(frozen=True)
class Event:
    id: int
    at: dt.datetime
    from_state: str | None
    to_state: str
    post_index: int | None
    reason: str


@dataclass(frozen=True)
class ArticleRecord:
    id: int
    path: str
    revision: int
    source_hash: str
    title: str
    author: str | None
    date: str | None
    url: str | None
    publication: str | None
    language: str
    tags: tuple[str, ...]
    body: str
    english_title: str | None
    translation_model: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Ingested:
    """What :meth:`Outbox.add_article` did."""

    article_id: int
    revision: int
    unchanged: bool
    """The same bytes were stored before: nothing new was made (but see ``publications``)."""
    publications: tuple[int, ...]
    """Publications created by this call (new platforms of an unchanged file count too)."""
    approved: tuple[int, ...]
    """Those of ``publications`` that were auto-approved."""
    superseded: tuple[int, ...]
    """Unstarted publications of older revisions that were withdrawn (now ``rejected``)."""
    earlier_posted: tuple[int, ...] = ()
    """Publications of older revisions that already posted something: the new revision is a
    correction a person must look at, never a silent repost."""
    held: tuple[str, ...] = ()
    """Why auto-approval was withheld for this article (it waits for a person instead)."""


@dataclass(frozen=True)
class QueueRow:
    """One line of ``publisher queue``: light, for listing thousands quickly."""

    id: int
    state: State
    platform: str
    account: str
    title: str
    n_posts: int
    posted_count: int
    approved: bool
    when: dt.datetime | None
    attempts: int
    unknown_index: int | None
    note: str | None
    path: str
    revision: int
    article_id: int | None = None
    owner: str | None = None
    """The process publishing it, while ``publishing``."""
    claimed_at: dt.datetime | None = None
    inflight_index: int | None = None


@dataclass(frozen=True)
class AccountState:
    platform: str
    account: str
    handle: str | None = None
    checked_at: dt.datetime | None = None
    blocked_reason: str | None = None
    """Set after the platform rejected the credentials: nothing is posted until cleared."""
    paused_until: dt.datetime | None = None
    """Rate limited until then."""
    pause_reason: str | None = None
    daily_remaining: int | None = None
    """Posts left in the platform's 24-hour window, when the platform said so."""
    daily_reset: dt.datetime | None = None


# --- time ------------------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def _aware(value: dt.datetime, what: str = "time") -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value


def ts(value: dt.datetime | None) -> str | None:
    """A datetime as stored: UTC, ISO-8601, fixed width (sorts as text)."""
    if value is None:
        return None
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


if sys.version_info >= (3, 11):  # fromisoformat reads the "Z" itself: twice as fast
    def from_ts(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)
else:
    def from_ts(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


# --- who is publishing -----------------------------------------------------------------------
#
# A claim names its process as ``host:pid:start:boot:pidns/thread``: the host name (for people),
# the pid and its start time (clock ticks since boot, so a reused pid is not mistaken for the
# owner), the kernel's boot id and the pid namespace. The last two say whether the pid can be
# checked from here at all: a process never outlives its kernel's boot, and a pid means
# something only inside its own pid namespace (another container on the same machine has its
# own). Every process using one WAL database runs on one kernel (SQLite's WAL needs shared
# memory), so an owner from another boot is gone for certain. Claims written before the boot id
# and namespace were recorded (``host:pid:start/thread``) are judged by host name only.

_PROCESS: tuple[int, str] | None = None
_BOOT_ID: str | None = None
OwnerStatus = Literal["alive", "dead", "unknown"]


def _process_start(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot) and None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _boot_id() -> str:
    """This kernel boot's id (Linux), "" where there is none."""
    global _BOOT_ID
    if _BOOT_ID is None:
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
                _BOOT_ID = f.read().strip().lower()
        except (OSError, ValueError):
            _BOOT_ID = ""
    return _BOOT_ID


def _pid_namespace() -> str:
    """The inode of this process's pid namespace (Linux), "" where there is none."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def _this_process() -> str:
    global _PROCESS
    pid = os.getpid()
    if _PROCESS is None or _PROCESS[0] != pid:
        _PROCESS = (pid, f"{socket.gethostname()}:{pid}:{_process_start(pid) or '0'}:{_boot_id()}:{_pid_namespace()}")
    return _PROCESS[1]


def current_owner() -> str:
    """This thread of this process, as written in ``publications.owner``:
    ``host:pid:start:boot:pidns/thread`` (see above).

    Per thread, so that two scheduler jobs running in one process can never publish the same
    thread at once.
    """
    return f"{_this_process()}/{threading.get_ident()}"


@dataclass(frozen=True)
class Owner:
    """A parsed ``publications.owner``."""

    host: str
    pid: int
    start: str
    boot: str | None = None
    """Kernel boot id ("" when the owner's machine had none; None in claims of older versions)."""
    pid_ns: str | None = None
    thread: int | None = None

    @property
    def process(self) -> str:
        base = f"{self.host}:{self.pid}:{self.start}"
        return base if self.boot is None else f"{base}:{self.boot}:{self.pid_ns or ''}"


_BOOT_TEXT = re.compile(r"[0-9a-f-]*")


def parse_owner(owner: str | None) -> Owner | None:
    """``owner`` as written by :func:`current_owner` (or an older version); None if unreadable."""
    if not owner:
        return None
    process, _, thread_text = owner.partition("/")
    parts = process.split(":")
    try:
        if len(parts) >= 5 and _BOOT_TEXT.fullmatch(parts[-2]) and (parts[-1].isdigit() or not parts[-1]):
            host, pid, start, boot, ns = ":".join(parts[:-4]), int(parts[-4]), parts[-3], parts[-2], parts[-1]
        elif len(parts) >= 3:
            host, pid, start, boot, ns = ":".join(parts[:-2]), int(parts[-2]), parts[-1], None, None
        else:
            return None
    except ValueError:
        return None
    thread = int(thread_text) if thread_text.isdigit() else None
    return Owner(host=host, pid=pid, start=start, boot=boot, pid_ns=ns, thread=thread)


def owner_status(owner: str | None) -> OwnerStatus:
    """Whether the thread/process named by ``owner`` still runs, as far as this process can tell.

    ``dead``: gone for certain (no such process, its pid was reused, it ran before the last
    reboot, or the owner is unreadable). ``alive``: it runs. ``unknown``: it cannot be checked
    from here (another machine or another container: another pid namespace).
    """
    found = parse_owner(owner)
    if found is None:
        return "dead"
    mine = parse_owner(current_owner())
    assert mine is not None
    if found.boot and mine.boot:
        if found.boot != mine.boot:
            return "dead"  # it ran under an earlier boot of this kernel
        if found.pid_ns and mine.pid_ns:
            if found.pid_ns != mine.pid_ns:
                return "unknown"  # another container: its pids are not ours to look up
            return _local_status(found, mine)
    if found.host != mine.host:
        return "unknown"
    return _local_status(found, mine)


def _local_status(found: Owner, mine: Owner) -> OwnerStatus:
    """The owner's pid is one this process can look up."""
    if found.pid == mine.pid and found.start == mine.start:
        alive = found.thread is not None and found.thread in {t.ident for t in threading.enumerate()}
        return "alive" if alive else "dead"
    if os.path.isdir("/proc"):
        return "alive" if _process_start(found.pid) == found.start else "dead"
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return "alive"
    return "alive"


def owner_alive(owner: str | None) -> bool:
    """Whether ``owner`` may still run: alive, or not checkable from here (another machine or
    container), which automatic recovery must treat as alive. A person can release such a
    claim (:meth:`Outbox.release_claim`)."""
    return owner_status(owner) != "dead"


def describe_owner(owner: str | None) -> str:
    """The owner for people: "pid 42" (this machine) or "pid 42 on otherhost"."""
    found = parse_owner(owner)
    if found is None:
        return "another process"
    return f"pid {found.pid} on {found.host}" if found.host != socket.gethostname() else f"pid {found.pid}"


_describe_owner = describe_owner


# --- the store -------------------------------------------------------------------------------

_PUB_COLUMNS = """p.id, p.article_id, p.platform, p.account, p.thread_id, t.title, p.state, t.content_hash,
    p.approved_hash, p.approved_at, p.scheduled_at, p.next_try_at, p.due_at, p.attempts, p.n_posts,
    p.posted_count, p.owner, p.inflight_index, p.unknown_index, p.note, p.created_at, p.updated_at,
    p.claimed_at, p.inflight_since"""
_PUB_FROM = "publications p JOIN threads t ON t.id = p.thread_id"


def _publication(row: sqlite3.Row | tuple) -> Publication:
    (id_, article_id, platform, account, thread_id, title, state, content_hash, approved_hash, approved_at,
     scheduled_at, next_try_at, due_at, attempts, n_posts, posted_count, owner, inflight_index, unknown_index,
     note, created_at, updated_at, claimed_at, inflight_since) = row
    return Publication(
        id=id_, article_id=article_id, platform=platform, account=account, thread_id=thread_id, title=title,
        state=state, content_hash=content_hash, approved_hash=approved_hash, approved_at=from_ts(approved_at),
        scheduled_at=from_ts(scheduled_at), next_try_at=from_ts(next_try_at), due_at=from_ts(due_at),
        attempts=attempts, n_posts=n_posts, posted_count=posted_count, owner=owner,
        inflight_index=inflight_index, unknown_index=unknown_index, note=note,
        created_at=from_ts(created_at), updated_at=from_ts(updated_at),  # type: ignore[arg-type]
        claimed_at=from_ts(claimed_at), inflight_since=from_ts(inflight_since),
    )


def _post_label(index: int, n_posts: int) -> str:
    return f"post {index + 1} of {n_posts}"


class Outbox:
    """The queue database. Open with :meth:`Outbox.open`; one instance may be shared by threads."""

    def __init__(self, db: sqlite3.Connection, path: Path | str):
        self.db = db
        self.path = path
        #: On a PostgreSQL server (publisher.queue.pgstore): claims lock rows and carry a lease.
        self.postgres = bool(getattr(db, "is_postgres", False))
        #: The migrations this open applied (``publisher db migrate`` prints them).
        self.applied: list[str] = list(getattr(db, "applied", ()))
        self._lock = threading.RLock()
        self._depth = 0

    # -- opening ------------------------------------------------------------------------------

    read_only = False
    """True when opened read-only (a read-only filesystem): no writes, no recovery."""

    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only_ok: bool = False) -> "Outbox":
        """Open the queue database (``PUBLISHER_DB`` by default), creating and migrating it.

        WAL journal (readers never block the publisher), ``synchronous=FULL`` (a post id that
        was committed survives a power cut), foreign keys on. A new file is readable by its
        owner only (0600: it holds article text and account state); SQLite gives its -wal and
        -shm files the database file's permissions. An existing file keeps its permissions.
        """
        if path is None:
            from publisher import config

            path = config.require_database() if config.DATABASE_MUST_EXIST else config.Paths.from_env().db
        from publisher.queue.database import is_postgres

        if is_postgres(path):  # PUBLISHER_DB=postgresql://...: the server backend (publisher.queue.pgstore)
            from publisher.queue.database import shown
            from publisher.queue.pgstore import open_connection

            return cls(open_connection(str(path), ts(utcnow())), shown(path))  # type: ignore[arg-type]
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
                return cls._open_read_only(path)
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
                return cls._open_read_only(path)
            failure = storage.explain(path, exc)
            if failure is not None:
                raise failure from None
            raise StoreError(f"{path}: not a usable publisher database: {exc}") from None
        except BaseException:
            db.close()
            raise
        box = cls(db, path)
        box.applied = applied
        return box

    @classmethod
    def _open_read_only(cls, path: Path) -> "Outbox":
        """For reading on a read-only filesystem (``queue``, ``show``): no migrations, no writes."""
        from publisher.queue import db as storage

        try:
            db = storage.open_read_only(path)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the queue database, even for reading: {exc}") from None
        storage.refuse_damaged(db, path)
        box = cls(db, path)
        box.read_only = True
        return box

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Outbox":
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

    # -- reading ------------------------------------------------------------------------------

    def get(self, publication_id: int) -> Publication:
        row = self.db.execute(f"SELECT {_PUB_COLUMNS} FROM {_PUB_FROM} WHERE p.id = ?", (publication_id,)).fetchone()
        if row is None:
            raise StoreError(f"no publication {publication_id}")
        return _publication(row)

    def thread(self, publication_id: int) -> StoredThread:
        """The publication's current thread, with what each post became on the platform."""
        pub = self.get(publication_id)
        return self._thread(pub.thread_id, publication_id)

    def _thread(self, thread_id: int, publication_id: int | None = None) -> StoredThread:
        t = self.db.execute("SELECT id, platform, title, content_hash, origin, dropped, warnings FROM threads "
                            "WHERE id = ?", (thread_id,)).fetchone()
        results: dict[int, tuple] = {}
        if publication_id is not None:
            results = {r[0]: r[1:] for r in self.db.execute(
                "SELECT idx, post_id, url, posted_at, source, extra FROM post_results WHERE publication_id = ?",
                (publication_id,))}
        posts = []
        for idx, text, role, length, lim in self.db.execute(
                "SELECT idx, text, role, length, lim FROM thread_posts WHERE thread_id = ? ORDER BY idx",
                (thread_id,)):
            r = results.get(idx)
            posts.append(StoredPost(
                index=idx, text=text, role=role, length=length, limit=lim,
                post_id=r[0] if r else None, url=r[1] if r else None, posted_at=from_ts(r[2]) if r else None,
                settled_by=r[3] if r else None, extra=json.loads(r[4]) if r else None))
        from publisher.media import load_thread_media

        media, card = load_thread_media(self.db, thread_id)
        return StoredThread(id=t[0], platform=t[1], title=t[2], content_hash=t[3], origin=t[4], posts=tuple(posts),
                            dropped=tuple(json.loads(t[5])), warnings=tuple(json.loads(t[6])), media=media, card=card)

    def posted_refs(self, publication_id: int) -> list["PostRef"]:
        """What the platform returned for each posted post, in thread order."""
        from publisher.platforms.base import PostRef

        return [PostRef(id=post_id, url=url, extra=json.loads(extra))
                for post_id, url, extra in self.db.execute(
                    "SELECT post_id, url, extra FROM post_results WHERE publication_id = ? ORDER BY idx",
                    (publication_id,))]

    def platforms_of(self, source_hash: str) -> set[str] | None:
        """Platforms with a publication for the article with these exact bytes (None: never stored)."""
        row = self.db.execute("SELECT id FROM articles WHERE source_hash = ?", (source_hash,)).fetchone()
        if row is None:
            return None
        return {p for (p,) in self.db.execute("SELECT platform FROM publications WHERE article_id = ?", (row[0],))}

    def article(self, article_id: int) -> ArticleRecord:
        row = self.db.execute(
            "SELECT a.id, a.path, a.revision, a.source_hash, a.title, a.author, a.date, a.url, a.publication, "
            "a.language, a.tags, a.body, tr.title, tr.model || ' ' || tr.model_version, a.created_at "
            "FROM articles a LEFT JOIN translations tr ON tr.id = "
            "(SELECT max(id) FROM translations WHERE article_id = a.id) WHERE a.id = ?", (article_id,)).fetchone()
        if row is None:
            raise StoreError(f"no article {article_id}")
        return ArticleRecord(id=row[0], path=row[1], revision=row[2], source_hash=row[3], title=row[4],
                             author=row[5], date=row[6], url=row[7], publication=row[8], language=row[9],
                             tags=tuple(json.loads(row[10])), body=row[11], english_title=row[12],
                             translation_model=row[13], created_at=from_ts(row[14]))  # type: ignore[arg-type]

    def history(self, publication_id: int) -> list[Event]:
        return [Event(id=r[0], at=from_ts(r[1]), from_state=r[2], to_state=r[3], post_index=r[4],  # type: ignore
                      reason=r[5])
                for r in self.db.execute("SELECT id, at, from_state, to_state, post_index, reason FROM events "
                                         "WHERE publication_id = ? ORDER BY id", (publication_id,))]

    def publications_of(self, article_id: int) -> list[Publication]:
        return [_publication(r) for r in self.db.execute(
            f"SELECT {_PUB_COLUMNS} FROM {_PUB_FROM} WHERE p.article_id = ? ORDER BY p.id", (article_id,))]

    def rows(self, states: Sequence[str] | None = None, *, platform: str | None = None,
             limit: int | None = None) -> list[QueueRow]:
        """Publications for listing, oldest first; ``states`` None means all."""
        where, args = [], []  # type: ignore[var-annotated]
        if states:
            bad = [s for s in states if s not in STATES]
            if bad:
                raise StoreError(f"unknown state {bad[0]!r}; states are: {', '.join(STATES)}")
            where.append(f"p.state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        if platform:
            where.append("p.platform = ?")
            args.append(platform)
        sql = ("SELECT p.id, p.state, p.platform, p.account, t.title, p.n_posts, p.posted_count, "
               "p.approved_hash IS NOT NULL AND p.approved_hash = t.content_hash, "
               "coalesce(p.scheduled_at, p.next_try_at, p.due_at), p.attempts, p.unknown_index, p.note, "
               "a.path, a.revision, p.article_id, p.owner, p.claimed_at, p.inflight_index "
               "FROM publications p JOIN threads t ON t.id = p.thread_id JOIN articles a ON a.id = p.article_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY p.id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = []
        for r in self.db.execute(sql, args):
            when = r[8]
            rows.append(QueueRow(id=r[0], state=r[1], platform=r[2], account=r[3], title=r[4], n_posts=r[5],
                                 posted_count=r[6], approved=bool(r[7]),
                                 when=from_ts(when),
                                 attempts=r[9], unknown_index=r[10], note=r[11], path=r[12], revision=r[13],
                                 article_id=r[14], owner=r[15], claimed_at=from_ts(r[16]), inflight_index=r[17]))
        return rows

    def counts(self, platform: str | None = None) -> dict[str, int]:
        """Number of publications in each state (states with none are left out)."""
        if platform:
            rows = self.db.execute("SELECT state, count(*) FROM publications WHERE platform = ? GROUP BY state",
                                   (platform,))
        else:
            rows = self.db.execute("SELECT state, count(*) FROM publications GROUP BY state")
        return {state: n for state, n in rows}

    # -- storing articles ---------------------------------------------------------------------

    def add_article(self, article: "Article", translated: "TranslatedArticle | None",
                    threads: Mapping[str, "Thread"], *, auto_approve: bool = False,
                    accounts: Mapping[str, str] | None = None, now: dt.datetime | None = None) -> Ingested:
        """Store one article revision, its translation and a draft publication per thread.

        * Same bytes as before (same ``source_hash``): nothing changes, except that a platform
          with no publication yet for that revision gets one.
        * New bytes for a path already stored: a new revision. Unstarted publications of older
          revisions (draft, approved, scheduled) are withdrawn (``rejected``, reason
          "superseded"); anything already posted stays, and is listed in ``earlier_posted``.
        * ``auto_approve`` approves the new publications (a source set to auto-approve), except
          on a platform where an older revision already posted something: a changed article
          that was already out always waits for a person.

        ``accounts`` maps a platform to the account that posts there (default: the platform name).
        """
        now = _aware(now or utcnow(), "now")
        for platform, thread in threads.items():
            if thread.platform != platform:
                raise ValueError(f"thread for {platform!r} says it is for {thread.platform!r}")
            if thread.article_hash != article.source_hash:
                raise ValueError(f"the {platform} thread was made from another article ({thread.article_hash[:12]})")
            if not thread.posts:
                raise StoreError(f"{article.path}: the {platform} thread has no posts")
        if translated is not None and translated.article.source_hash != article.source_hash:
            raise ValueError("the translation is of another article")
        path_key = _path_key(article.path)
        accounts = dict(accounts or {})
        with self.transaction() as db:
            row = db.execute("SELECT id, revision FROM articles WHERE source_hash = ?",
                             (article.source_hash,)).fetchone()
            unchanged = row is not None
            if unchanged:
                article_id, revision = row
                existing = {p for (p,) in db.execute("SELECT platform FROM publications WHERE article_id = ?",
                                                     (article_id,))}
                if translated is not None and db.execute("SELECT 1 FROM translations WHERE article_id = ?",
                                                         (article_id,)).fetchone() is None:
                    self._insert_translation(article_id, translated, now)
            else:
                revision = 1 + (db.execute("SELECT max(revision) FROM articles WHERE path = ?",
                                           (path_key,)).fetchone()[0] or 0)
                article_id = db.execute(
                    "INSERT INTO articles (path, source_hash, revision, title, author, date, url, publication, "
                    "language, tags, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (path_key, article.source_hash, revision, article.title, article.author,
                     article.date.isoformat() if article.date else None, article.url, article.publication,
                     article.language, json.dumps(list(article.tags), ensure_ascii=False), article.body, ts(now)),
                ).fetchone()[0]
                existing = set()
                if translated is not None:
                    self._insert_translation(article_id, translated, now)

            superseded: list[int] = []
            earlier_posted: list[int] = []
            posted_platforms: set[str] = set()
            if not unchanged and revision > 1:
                older = db.execute(
                    "SELECT p.id, p.state, p.posted_count, p.unknown_index, p.platform FROM publications p "
                    "JOIN articles a ON a.id = p.article_id WHERE a.path = ? AND a.id != ? ORDER BY p.id",
                    (path_key, article_id)).fetchall()
                for pub_id, state, posted_count, unknown, platform in older:
                    if (posted_count == 0 and unknown is None
                            and state in ("draft", "approved", "scheduled", "failed", "needs_attention")):
                        self._transition(pub_id, "rejected", now, f"superseded by revision {revision} of {path_key}")
                        superseded.append(pub_id)
                    elif state != "rejected" or posted_count:
                        earlier_posted.append(pub_id)
                        posted_platforms.add(platform)

            created, approved = [], []
            for platform, thread in threads.items():
                if platform in existing:
                    continue
                thread_id = self._insert_thread(article_id, thread, "render", now)
                pub_id = db.execute(
                    "INSERT INTO publications (article_id, platform, account, thread_id, state, n_posts, "
                    "note, created_at, updated_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?) RETURNING id",
                    (article_id, platform, accounts.get(platform, platform), thread_id, len(thread.posts),
                     "new draft", ts(now), ts(now))).fetchone()[0]
                reason = (f"stored from {path_key}" if revision == 1
                          else f"revision {revision} of {path_key}: needs approval again")
                self._event(pub_id, None, "draft", now, reason)
                created.append(pub_id)
                if auto_approve and platform not in posted_platforms:
                    problems = _length_problems(self._thread(thread_id))
                    if not problems:
                        self._approve_in_tx(pub_id, None, now, "auto-approved (the source is set to auto-approve)")
                        approved.append(pub_id)
        return Ingested(article_id=article_id, revision=revision, unchanged=unchanged, publications=tuple(created),
                        approved=tuple(approved), superseded=tuple(superseded), earlier_posted=tuple(earlier_posted))

    def _insert_translation(self, article_id: int, translated: "TranslatedArticle", now: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO translations (article_id, title, description, markdown, model, model_version, translated, "
            "glossary_hits, warnings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, translated.title, translated.description, translated.markdown, translated.model,
             translated.model_version, int(translated.translated),
             json.dumps(list(translated.glossary_hits), ensure_ascii=False),
             json.dumps(list(translated.warnings), ensure_ascii=False), ts(now)))

    def _insert_thread(self, article_id: int, thread: "Thread", origin: str, now: dt.datetime) -> int:
        thread_id = self.db.execute(
            "INSERT INTO threads (article_id, platform, title, content_hash, n_posts, origin, dropped, warnings, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (article_id, thread.platform, thread.title, thread.content_hash, len(thread.posts), origin,
             json.dumps(list(thread.dropped), ensure_ascii=False), json.dumps(list(thread.warnings), ensure_ascii=False),
             ts(now))).fetchone()[0]
        self.db.executemany(
            "INSERT INTO thread_posts (thread_id, idx, text, role, length, lim) VALUES (?, ?, ?, ?, ?, ?)",
            [(thread_id, i, p.text, p.role, p.length, p.limit) for i, p in enumerate(thread.posts)])
        if thread.media or thread.card:
            from publisher.media import store_thread_media

            store_thread_media(self.db, thread_id, thread)  # type: ignore[arg-type]
        return thread_id  # type: ignore[return-value]

    # -- transitions --------------------------------------------------------------------------

    def _event(self, pub_id: int, from_state: str | None, to_state: str, now: dt.datetime, reason: str,
               post_index: int | None = None) -> None:
        self.db.execute("INSERT INTO events (publication_id, at, from_state, to_state, post_index, reason) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (pub_id, ts(now), from_state, to_state, post_index, reason))

    def _transition(self, pub_id: int, to_state: str, now: dt.datetime, reason: str, *,
                    post_index: int | None = None, **fields: Any) -> None:
        """Move one publication (inside a transaction), check the move is allowed, log it.

        Columns that only mean something in some states are cleared when leaving them:
        the claim (owner, in-flight post) outside ``publishing``, the scheduled time outside
        ``scheduled``/``publishing``, the next try outside ``failed``/``publishing``, the unknown
        post outside ``needs_attention``. ``due_at`` follows from the new state unless given.
        """
        row = self.db.execute("SELECT state, approved_at, scheduled_at, next_try_at FROM publications WHERE id = ?",
                              (pub_id,)).fetchone()
        if row is None:
            raise StoreError(f"no publication {pub_id}")
        from_state, approved_at, scheduled_at, next_try_at = row
        if to_state not in TRANSITIONS[from_state]:
            raise StoreError(f"publication {pub_id} is {from_state}; it cannot become {to_state}")
        keep = {
            "scheduled_at": to_state in ("scheduled", "publishing"),
            "next_try_at": to_state in ("failed", "publishing"),
            "owner": to_state == "publishing", "claimed_from": to_state == "publishing",
            "claimed_at": to_state == "publishing", "inflight_index": to_state == "publishing",
            "inflight_since": to_state in ("publishing", "needs_attention"),
            "unknown_index": to_state == "needs_attention",
        }
        for column, kept in keep.items():
            if not kept:
                fields.setdefault(column, None)
        if "due_at" not in fields:
            value = {"approved_at": approved_at, "scheduled_at": scheduled_at, "next_try_at": next_try_at}
            value.update({k: fields[k] for k in value if k in fields})
            fields["due_at"] = {"approved": value["approved_at"], "scheduled": value["scheduled_at"],
                                "failed": value["next_try_at"]}.get(to_state)
        fields.update(state=to_state, note=reason, updated_at=ts(now))
        columns = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE publications SET {columns} WHERE id = ?", (*fields.values(), pub_id))
        self._event(pub_id, from_state, to_state, now, reason, post_index)

    # -- what people do -----------------------------------------------------------------------

    def approve(self, publication_id: int, at: dt.datetime | None = None, *, now: dt.datetime | None = None,
                reason: str | None = None) -> Publication:
        """Approve the thread as it is now (binding the approval to its content hash).

        Without ``at`` it is ``approved`` and goes out in the next slot the scheduler gives
        it; with ``at`` it is ``scheduled`` for that time. Refused while the outcome of a post
        is unknown, or when a post is over its length limit.
        """
        now = _aware(now or utcnow(), "now")
        if at is not None:
            _aware(at, "at")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                raise StoreError(claimed_message(pub) + "; it cannot be approved now")
            if pub.state in ("posted", "rejected"):
                raise StoreError(f"publication {publication_id} is {pub.state}; it cannot be approved")
            if pub.unknown_index is not None:
                raise StoreError(f"publication {publication_id}: nobody knows whether {_post_label(pub.unknown_index, pub.n_posts)} "
                                 f"was posted; settle it first with `publisher resolve {publication_id} --posted|--not-posted`")
            problems = _length_problems(self._thread(pub.thread_id))
            if problems:
                raise StoreError(f"publication {publication_id} cannot be approved: {problems}; edit it first")
            self._approve_in_tx(publication_id, at, now, reason)
            return self.get(publication_id)

    def _approve_in_tx(self, pub_id: int, at: dt.datetime | None, now: dt.datetime, reason: str | None) -> None:
        content_hash = self.db.execute("SELECT t.content_hash FROM publications p JOIN threads t ON t.id = p.thread_id "
                                       "WHERE p.id = ?", (pub_id,)).fetchone()[0]
        if at is None:
            self._transition(pub_id, "approved", now, reason or "approved", approved_hash=content_hash,
                             approved_at=ts(now), scheduled_at=None, attempts=0)
        else:
            from publisher.clock import local_text

            local = local_text(at)
            self._transition(pub_id, "scheduled", now, reason or f"approved for {local}", approved_hash=content_hash,
                             approved_at=ts(now), scheduled_at=ts(at), attempts=0)

    def approve_article(self, article_id: int, at: dt.datetime | None = None, *,
                        now: dt.datetime | None = None, reason: str | None = None) -> list[Publication]:
        """Approve every draft of one article revision (one approval for all its platforms).

        All or none: when one draft cannot be approved (a post over its limit...), nothing is,
        and the error says which and why. Returns the approved publications ([] when no draft
        was left)."""
        with self.transaction():
            approved = []
            for pub in self.publications_of(article_id):
                if pub.state != "draft":
                    continue
                try:
                    approved.append(self.approve(pub.id, at, now=now, reason=reason))
                except StoreError as exc:
                    raise StoreError(f"{exc}; nothing of article {article_id} was approved") from None
            return approved

    def latest_revision(self, article: int | str | Path) -> ArticleRecord:
        """The latest stored revision of an article, given the id of any of its revisions or
        the path of its file."""
        if isinstance(article, int):
            row = self.db.execute("SELECT path FROM articles WHERE id = ?", (article,)).fetchone()
            if row is None:
                raise StoreError(f"no article {article}")
            path = row[0]
        else:
            path = _path_key(article)
        row = self.db.execute("SELECT id FROM articles WHERE path = ? ORDER BY revision DESC LIMIT 1",
                              (path,)).fetchone()
        if row is None:
            raise StoreError(f"no article stored from {article}")
        return self.article(row[0])

    def reject(self, publication_id: int, reason: str | None = None, *, now: dt.datetime | None = None) -> Publication:
        """Never post it (what is already posted of it stays posted)."""
        now = _aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                raise StoreError(claimed_message(pub) + "; it cannot be rejected now")
            if pub.state in ("posted", "rejected"):
                raise StoreError(f"publication {publication_id} is {pub.state}; it cannot be rejected")
            why = reason or "rejected"
            if pub.posted_count:
                why += f" (after {pub.posted_count} of {pub.n_posts} posts were posted; the rest will not be)"
            self._transition(publication_id, "rejected", now, why)
            return self.get(publication_id)

    def edit(self, publication_id: int, posts: Sequence["str | EditedPost"], *, max_posts: int | None = None,
             now: dt.datetime | None = None) -> Publication:
        """Replace the thread's posts; withdraws any approval. Unchanged posts change nothing.

        ``posts`` are :class:`EditedPost` (text and role); plain strings keep the roles the
        posts had, by position, and are only accepted when the number of posts stays the same
        (roles by position would turn a point into the attribution when a post is deleted).

        The edited thread must pass :func:`publisher.threads.check.check_thread`: every post within
        its platform's limit (measured the platform's way), at most ``max_posts`` posts
        (default: the renderer's), exactly one attribution post, which stays last and keeps
        the original's link and the machine-translation note. Posts already posted cannot be
        changed. When the number of posts changes, "n/m" numbers at the start of posts that
        were numbered for the old count are renumbered; that is refused when numbered posts are
        already on the platform. A refused edit stores nothing and says why in one line.
        """
        from publisher import lengths
        from publisher.models import Post, Thread
        from publisher.threads.options import DEFAULT_MAX_POSTS, ThreadOptions
        from publisher.threads.check import check_thread

        now = _aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                raise StoreError(claimed_message(pub) + "; it cannot be edited now")
            if pub.state in ("posted", "rejected"):
                raise StoreError(f"publication {publication_id} is {pub.state}; it cannot be edited")
            if pub.unknown_index is not None:
                raise StoreError(f"publication {publication_id}: settle the outcome of "
                                 f"{_post_label(pub.unknown_index, pub.n_posts)} first (`publisher resolve`)")
            current = self._thread(pub.thread_id, publication_id)
            edited = _edited_posts(posts, current)
            texts = [p.text for p in edited]
            roles = [p.role for p in edited]
            if [p.text for p in current.posts] == texts and [p.role for p in current.posts] == roles:
                return pub
            if not texts:
                raise StoreError(f"publication {publication_id}: a thread needs at least one post")
            bad_roles = [f"post {i}: unknown role {r!r} (roles are {', '.join(POST_ROLES)})"
                         for i, r in enumerate(roles, start=1) if r not in POST_ROLES]
            if bad_roles:
                raise StoreError(f"publication {publication_id} not saved: {'; '.join(bad_roles)}")
            for post in current.posts[:pub.posted_count]:
                if post.index >= len(texts) or texts[post.index] != post.text:
                    raise StoreError(f"publication {publication_id}: post {post.index + 1} is already on "
                                     f"{pub.platform} and cannot be changed")
            texts = _renumbered(texts, current)
            for post in current.posts[:pub.posted_count]:
                if texts[post.index] != post.text:
                    raise StoreError(f"publication {publication_id} not saved: post {post.index + 1} is already on "
                                     f"{pub.platform} numbered for {len(current.posts)} posts; keep "
                                     f"{len(current.posts)} posts")
            limit = current.posts[0].limit if current.posts else lengths.DEFAULT_LIMITS[pub.platform]
            article_hash = self.db.execute("SELECT source_hash FROM articles WHERE id = ?",
                                           (pub.article_id,)).fetchone()[0]
            from publisher.media import carried_media

            media, card, media_problems = carried_media(current.media, current.card, [p.text for p in current.posts],
                                                        texts, roles)
            thread = Thread(platform=pub.platform, title=current.title, article_hash=article_hash,
                            dropped=current.dropped, warnings=current.warnings, media=media, card=card,
                            posts=tuple(Post(text=t, role=r, length=lengths.measure(pub.platform, t),  # type: ignore[arg-type]
                                             limit=limit) for t, r in zip(texts, roles)))
            before = Thread(platform=pub.platform, title=current.title, article_hash=article_hash,
                            posts=tuple(Post(text=p.text, role=p.role, length=p.length, limit=p.limit)  # type: ignore[arg-type]
                                        for p in current.posts))
            options = ThreadOptions(limits={pub.platform: limit}, max_posts=max_posts or DEFAULT_MAX_POSTS)
            problems = check_thread(thread, options, edited_from=before) + media_problems
            if problems:
                raise StoreError(f"publication {publication_id} not saved: {'; '.join(problems)}")
            thread_id = self._insert_thread(pub.article_id, thread, "edit", now)
            why = f"edited ({len(texts)} posts)"
            if texts != [p.text for p in edited]:
                why += "; numbering updated"
            if pub.approved_hash:
                why += "; approval withdrawn"
            self._transition(publication_id, "draft", now, why, thread_id=thread_id, n_posts=len(texts),
                             approved_hash=None, approved_at=None, attempts=0)
            return self.get(publication_id)

    def retry(self, publication_id: int, *, now: dt.datetime | None = None) -> Publication:
        """Put a failed (or permanently refused) publication back in line, now."""
        now = _aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                raise StoreError(claimed_message(pub))
            if pub.state not in ("failed", "needs_attention"):
                raise StoreError(f"publication {publication_id} is {pub.state}; only failed or needs_attention "
                                 "publications can be retried")
            if pub.unknown_index is not None:
                raise StoreError(f"publication {publication_id}: nobody knows whether "
                                 f"{_post_label(pub.unknown_index, pub.n_posts)} was posted; check {pub.platform}, "
                                 f"then `publisher resolve {publication_id} --posted|--not-posted`")
            if not pub.approved:
                self._transition(publication_id, "draft", now, "retry: the approval does not match the content; "
                                 "approve it again")
            else:
                self._transition(publication_id, "approved", now, "retry requested", due_at=ts(now), attempts=0)
            return self.get(publication_id)

    def resolve(self, publication_id: int, posted: bool, ref: "PostRef | None" = None, *,
                now: dt.datetime | None = None) -> Publication:
        """A person settles a post whose outcome was unknown.

        ``posted=True``: it is on the platform; ``ref`` (its id) is needed when more posts follow,
        so that they can reply to it. ``posted=False``: it is not; it will be sent again.
        Either way the rest of the thread goes out as approved, nothing is repeated.
        """
        now = _aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self.get(publication_id)
            if pub.state == "publishing":
                raise StoreError(claimed_message(pub))
            if pub.state != "needs_attention" or pub.unknown_index is None:
                raise StoreError(f"publication {publication_id} has no post whose outcome is unknown "
                                 f"(it is {pub.state})")
            index = pub.unknown_index
            label = _post_label(index, pub.n_posts)
            if posted:
                if (ref is None or not ref.id) and index + 1 < pub.n_posts:
                    raise StoreError(f"publication {publication_id}: give the id or link of {label} (--post-id) "
                                     "so that the rest of the thread can reply to it")
                if ref is not None and ref.id:  # another thread's post would make the rest reply under it
                    other = db.execute("SELECT publication_id, idx FROM post_results WHERE platform = ? AND post_id = ?",
                                       (pub.platform, ref.id)).fetchone()
                    if other is not None:
                        raise StoreError(f"publication {publication_id}: {ref.id} is already recorded as post "
                                         f"{other[1] + 1} of publication {other[0]}; give the id of {label} of this "
                                         "thread (look at the account)")
                since = db.execute("SELECT inflight_since FROM publications WHERE id = ?",
                                   (publication_id,)).fetchone()[0] or ts(now)
                db.execute("INSERT INTO post_results (publication_id, idx, platform, account, post_id, url, extra, "
                           "posted_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'person')",
                           (publication_id, index, pub.platform, pub.account, ref.id if ref else None,
                            ref.url if ref else None, json.dumps(dict(ref.extra) if ref else {}), since))
                done = index + 1 == pub.n_posts
                what = f"resolved: {label} is on {pub.platform}" + (f" as {ref.id}" if ref and ref.id else "")
                if done:
                    self._transition(publication_id, "posted", now, what + "; thread complete", post_index=index,
                                     posted_count=index + 1)
                    return self.get(publication_id)
                fields: dict[str, Any] = {"posted_count": index + 1}
            else:
                what = f"resolved: {label} is not on {pub.platform}; it will be sent again"
                fields = {}
            if pub.approved:
                self._transition(publication_id, "approved", now, what, post_index=index, due_at=ts(now),
                                 **fields)
            else:
                self._transition(publication_id, "draft", now, what + "; approve it again", post_index=index, **fields)
            return self.get(publication_id)

    # -- what the scheduler does --------------------------------------------------------------

    def _due_sql(self, with_max_posts: bool) -> str:
        return (f"SELECT {_PUB_COLUMNS} FROM {_PUB_FROM} "
                "LEFT JOIN accounts acc ON acc.platform = p.platform AND acc.account = p.account "
                "WHERE p.platform = ? AND p.state IN ('approved', 'scheduled', 'failed') "
                "AND p.due_at IS NOT NULL AND p.due_at <= ? "
                "AND p.approved_hash = t.content_hash "
                "AND (acc.blocked_reason IS NULL) AND (acc.paused_until IS NULL OR acc.paused_until <= ?) "
                + ("AND p.n_posts - p.posted_count <= ? " if with_max_posts else "")
                + "ORDER BY p.posted_count > 0 DESC, p.due_at, p.id")

    def due(self, platform: str, now: dt.datetime, *, limit: int | None = None) -> list[Publication]:
        """Approved publications for ``platform`` that may be posted at ``now``, in the order the
        scheduler should take them: partly posted threads first, then by due time.

        Due means: ``approved`` (any time after approval), ``scheduled`` for ``now`` or earlier,
        or ``failed`` with its next try at ``now`` or earlier; on an account that is neither
        stopped (credentials rejected) nor rate-limited at ``now``.
        """
        now_s = ts(_aware(now, "now"))
        sql = self._due_sql(False) + (f" LIMIT {int(limit)}" if limit else "")
        return [_publication(r) for r in self.db.execute(sql, (platform, now_s, now_s))]

    def claim_next(self, platform: str, now: dt.datetime, *, max_posts: int | None = None) -> Publication | None:
        """Take the first due publication whose remaining posts fit ``max_posts`` (the quota left).

        The publication becomes ``publishing`` and belongs to this process; post it with
        :func:`publisher.publishing.publish.publish_publication`, or give it back with :meth:`release`.
        Publications left ``publishing`` by a dead process are settled first (:meth:`recover`).
        """
        now = _aware(now, "now")
        now_s = ts(now)
        with self.transaction() as db:
            self.recover(now)
            if max_posts is None:
                row = db.execute(self._due_sql(False) + " LIMIT 1" + self._skip_locked, (platform, now_s, now_s)).fetchone()
            else:
                row = db.execute(self._due_sql(True) + " LIMIT 1" + self._skip_locked,
                                 (platform, now_s, now_s, max_posts)).fetchone()
            if row is None:
                return None
            return self.claim(row[0], now, why="claimed by the scheduler")

    @property
    def _skip_locked(self) -> str:
        from publisher.queue.pgstore import SKIP_LOCKED

        return SKIP_LOCKED if self.postgres else ""

    def _owner_alive(self, owner: str | None) -> bool:
        """:func:`owner_alive`; on PostgreSQL a process on another host is judged by its lease."""
        if not self.postgres:
            return owner_alive(owner)
        found, mine = parse_owner(owner), parse_owner(current_owner())
        if found is None or mine is None:
            return False
        if (found.host, found.boot, found.pid_ns) == (mine.host, mine.boot, mine.pid_ns):
            return _local_status(found, mine) == "alive"  # a pid of this machine and namespace: look it up
        # another host (another kernel boot is no proof of death here), or another container
        return bool(self.db.owner_alive(found.process))  # type: ignore[attr-defined]

    def claim(self, publication_id: int, now: dt.datetime | None = None, *, why: str = "publish requested",
              quota: int | None = None) -> Publication:
        """Make this process the one publishing ``publication_id`` (state ``publishing``).

        Works from approved, scheduled or failed, whatever their time (publishing by hand).
        Refuses anything not approved for its current content, and anything another live
        process is publishing. Already claimed by this process: returned as it is.

        ``quota`` (the platform's posts per rolling 24 hours): counted in the database, inside
        the claim's transaction, so that two daemons on two hosts never both spend the last of
        it: the posts sent in the window plus those that threads claimed elsewhere still have
        to send, plus this thread's remaining posts, must fit.
        """
        now = _aware(now or utcnow(), "now")
        me = current_owner()
        with self.transaction():
            if self.postgres and self.db.execute("SELECT id FROM publications p WHERE id = ?" + self._skip_locked,
                                                 (publication_id,)).fetchone() is None:
                # the row is locked by another host's claim in progress (or it does not exist)
                self.get(publication_id)
                raise StoreError(f"publication {publication_id} is being claimed by another process; try again")
            pub = self.get(publication_id)
            if pub.state == "publishing":
                if pub.owner == me:
                    return pub
                if self._owner_alive(pub.owner):
                    raise StoreError(claimed_message(pub))
                self.recover(now)
                pub = self.get(publication_id)
            if pub.state not in READY:
                raise StoreError(not_ready_message(pub))
            if quota is not None and pub.approved:
                used = sum(int(n) for (n,) in self.db.execute(  # sum(): numeric on PostgreSQL, hence int()
                    "SELECT count(*) FROM post_results WHERE platform = ? AND posted_at > ? AND posted_at <= ? "
                    "UNION ALL SELECT coalesce(sum(n_posts - posted_count), 0) FROM publications "
                    "WHERE platform = ? AND state = 'publishing' AND id != ?",
                    (pub.platform, ts(now - dt.timedelta(days=1)), ts(now), pub.platform, publication_id)))
                if used + pub.remaining > quota:
                    raise StoreError(f"publication {publication_id}: {pub.remaining} posts to send, "
                                     f"{max(0, quota - int(used))} of the {pub.platform} quota of {quota} left "
                                     "(posts sent in the last 24 hours and threads being published)")
            if not pub.approved:
                if pub.approved_hash is None:
                    raise StoreError(f"publication {publication_id} is not approved")
                self._transition(publication_id, "draft", now, "the approval does not match the content; "
                                 "approve it again")
            else:
                if self.postgres:
                    self.db.touch_lease(_this_process())  # type: ignore[attr-defined]
                self._transition(publication_id, "publishing", now, f"{why} ({_describe_owner(me)})",
                                 owner=me, claimed_from=pub.state, claimed_at=ts(now), inflight_index=None,
                                 inflight_since=None)
                return self.get(publication_id)
        # committed: the withdrawn approval stays withdrawn
        raise StoreError(f"publication {publication_id}: its content changed after approval; "
                         f"approve it again (`publisher approve {publication_id}`)")

    def release(self, publication_id: int, reason: str, *, now: dt.datetime | None = None) -> Publication:
        """Give back a claimed publication with nothing in flight; it returns to where it was."""
        now = _aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self._own(publication_id)
            if pub.inflight_index is not None:
                raise StoreError(f"publication {publication_id}: a post is in flight; record its outcome first")
            back = db.execute("SELECT claimed_from FROM publications WHERE id = ?", (publication_id,)).fetchone()[0]
            self._transition(publication_id, back or "approved", now, reason)
            return self.get(publication_id)

    def release_claim(self, publication_id: int, *, now: dt.datetime | None = None) -> Publication:
        """A person takes back a claim whose process is gone or cannot be checked from here.

        Automatic recovery (:meth:`recover`) settles claims of processes that are gone for
        certain; a claim made on another machine or in another container (a re-created
        container gets a new host name) can never be judged from here, so it would stay
        ``publishing`` forever. This is the way out, for a person who knows that process is
        gone. Like :meth:`recover`: a post that was in flight becomes ``needs_attention`` naming
        that post (it may or may not be on the platform: never a blind repost); with nothing in
        flight the publication goes back to where it was claimed from (approved, scheduled or
        failed). Refused when the owner is a process on this machine that still runs.

        Should that process still be running after all, its next step is refused (it no longer
        owns the publication), so nothing is posted twice; a post it had in flight waits in
        ``needs_attention`` like any other.
        """
        now = _aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self.get(publication_id)
            if pub.state != "publishing":
                raise StoreError(f"publication {publication_id} is not claimed by any process (it is {pub.state}"
                                 + (f": {pub.note})" if pub.note else ")"))
            who = describe_owner(pub.owner)
            status = owner_status(pub.owner)
            if status == "alive":
                raise StoreError(f"publication {publication_id} is being published by {who}, which is running; "
                                 "let it finish, or stop that process first")
            claimed_from = db.execute("SELECT claimed_from FROM publications WHERE id = ?",
                                      (publication_id,)).fetchone()[0]
            since = f" since {_utc_text(pub.claimed_at)}" if pub.claimed_at else ""
            holder = f"{who}{since}, {'gone' if status == 'dead' else 'not checkable from here'}"
            if pub.inflight_index is not None:
                label = _post_label(pub.inflight_index, pub.n_posts)
                self._transition(publication_id, "needs_attention", now,
                                 f"claim of {holder} released by hand while {label} was in flight: it may or may "
                                 f"not be on {pub.platform}; check, then `publisher resolve {publication_id} --posted "
                                 "--post-id ID` or --not-posted", post_index=pub.inflight_index,
                                 unknown_index=pub.inflight_index)
            else:
                done = f" ({pub.posted_count} of {pub.n_posts} posts were already on {pub.platform})" \
                    if pub.posted_count else ""
                self._transition(publication_id, claimed_from or "approved", now,
                                 f"claim of {holder} released by hand; nothing was in flight{done}; back in line")
            return self.get(publication_id)

    def schedule(self, publication_id: int, at: dt.datetime, reason: str, *,
                 now: dt.datetime | None = None) -> Publication:
        """Set the time an approved (or claimed, with nothing in flight) publication goes out."""
        now = _aware(now or utcnow(), "now")
        _aware(at, "at")
        with self.transaction():
            pub = self.get(publication_id)
            if pub.state == "publishing":
                pub = self._own(publication_id)
                if pub.inflight_index is not None:
                    raise StoreError(f"publication {publication_id}: a post is in flight")
            elif pub.state not in READY:
                raise StoreError(not_ready_message(pub))
            if not pub.approved:
                raise StoreError(f"publication {publication_id} is not approved")
            self._transition(publication_id, "scheduled", now, reason, scheduled_at=ts(at))
            return self.get(publication_id)

    def post_times(self, platform: str, since: dt.datetime) -> list[dt.datetime]:
        """When each post on ``platform`` (any account) after ``since`` was made: the scheduler's
        rolling-quota input."""
        rows = self.db.execute("SELECT posted_at FROM post_results WHERE platform = ? AND posted_at > ?",
                               (platform, ts(_aware(since, "since")))).fetchall()
        return [from_ts(r[0]) for r in rows]  # type: ignore[misc]

    def posts_since(self, platform: str, since: dt.datetime, *, account: str | None = None) -> int:
        """Posts sent on ``platform`` (one account, or all) at or after ``since``: quota used."""
        return self.db.execute(
            "SELECT count(*) FROM post_results WHERE platform = ? AND account = ? AND posted_at >= ?",
            (platform, account or platform, ts(_aware(since, "since")))).fetchone()[0]

    # -- accounts -----------------------------------------------------------------------------

    def account_state(self, platform: str, account: str | None = None) -> AccountState:
        account = account or platform
        row = self.db.execute("SELECT handle, checked_at, blocked_reason, paused_until, pause_reason, daily_remaining, "
                              "daily_reset FROM accounts WHERE platform = ? AND account = ?",
                              (platform, account)).fetchone()
        if row is None:
            return AccountState(platform=platform, account=account)
        return AccountState(platform=platform, account=account, handle=row[0], checked_at=from_ts(row[1]),
                            blocked_reason=row[2], paused_until=from_ts(row[3]), pause_reason=row[4],
                            daily_remaining=row[5], daily_reset=from_ts(row[6]))

    def _account_update(self, platform: str, account: str, **fields: Any) -> None:
        self.db.execute("INSERT INTO accounts (platform, account) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (platform, account))
        columns = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE accounts SET {columns} WHERE platform = ? AND account = ?",
                        (*fields.values(), platform, account))

    def block_account(self, platform: str, reason: str, *, account: str | None = None,
                      now: dt.datetime | None = None) -> None:
        """Stop posting to an account (its credentials were rejected) until :meth:`unblock_account`."""
        now = _aware(now or utcnow(), "now")
        with self.transaction():
            self._account_update(platform, account or platform, blocked_reason=reason, blocked_at=ts(now))

    def unblock_account(self, platform: str, *, account: str | None = None, handle: str | None = None,
                        now: dt.datetime | None = None) -> list[int]:
        """The account works again: clear the stop and retry what waited for it (returns those ids)."""
        now = _aware(now or utcnow(), "now")
        account = account or platform
        with self.transaction() as db:
            fields: dict[str, Any] = {"blocked_reason": None, "blocked_at": None, "checked_at": ts(now)}
            if handle:
                fields["handle"] = handle
            self._account_update(platform, account, **fields)
            waiting = [r[0] for r in db.execute(
                "SELECT id FROM publications WHERE platform = ? AND account = ? AND state = 'failed' "
                "AND next_try_at IS NULL", (platform, account))]
            for pub_id in waiting:
                self._transition(pub_id, "failed", now, f"the {platform} account works again; retrying",
                                 next_try_at=ts(now))
            return waiting

    # -- publishing steps (see publisher.publishing.publish) ---------------------------------------------

    def _own(self, publication_id: int) -> Publication:
        pub = self.get(publication_id)
        if pub.state != "publishing" or pub.owner != current_owner():
            raise StoreError(f"publication {publication_id} is not being published by this process "
                             f"(it is {pub.state})")
        return pub

    def begin_post(self, publication_id: int, index: int, *, now: dt.datetime | None = None) -> None:
        """Mark post ``index`` as in flight. Call right BEFORE sending it: if the process dies
        while it is on the wire, :meth:`recover` finds the mark and asks a person."""
        now = _aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self._own(publication_id)
            if pub.inflight_index is not None:
                raise StoreError(f"publication {publication_id}: {_post_label(pub.inflight_index, pub.n_posts)} "
                                 "is already in flight")
            if index != pub.posted_count:
                raise StoreError(f"publication {publication_id}: the next post to send is {pub.posted_count + 1}, "
                                 f"not {index + 1}")
            db.execute("UPDATE publications SET inflight_index = ?, inflight_since = ?, updated_at = ? WHERE id = ?",
                       (index, ts(now), ts(now), publication_id))
            self._event(publication_id, "publishing", "publishing", now,
                        f"sending {_post_label(index, pub.n_posts)}", index)

    def record_post(self, publication_id: int, index: int, ref: "PostRef", *, now: dt.datetime | None = None) -> Publication:
        """Store the id the platform returned for post ``index`` and clear the in-flight mark,
        in one transaction; the last post makes the publication ``posted``."""
        now = _aware(now or utcnow(), "now")
        with self.transaction() as db:
            pub = self._own(publication_id)
            if pub.inflight_index != index:
                raise StoreError(f"publication {publication_id}: post {index + 1} was not in flight")
            extra = dict(ref.extra)
            db.execute("INSERT INTO post_results (publication_id, idx, platform, account, post_id, url, extra, "
                       "posted_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'platform')",
                       (publication_id, index, pub.platform, pub.account, ref.id, ref.url,
                        json.dumps(extra, default=str), ts(now)))
            label = _post_label(index, pub.n_posts)
            account_fields: dict[str, Any] = {}
            if isinstance(extra.get("daily_remaining"), int):
                account_fields["daily_remaining"] = extra["daily_remaining"]
                account_fields["daily_reset"] = extra.get("daily_reset")
            blocked = self.account_state(pub.platform, pub.account).blocked_reason
            if blocked:
                account_fields.update(blocked_reason=None, blocked_at=None)
            if account_fields:
                self._account_update(pub.platform, pub.account, **account_fields)
            if index + 1 == pub.n_posts:
                self._transition(publication_id, "posted", now, f"posted {label} ({ref.id}); thread complete",
                                 post_index=index, posted_count=index + 1, attempts=0)
            else:
                db.execute("UPDATE publications SET posted_count = ?, inflight_index = NULL, inflight_since = NULL, "
                           "attempts = 0, updated_at = ? WHERE id = ?", (index + 1, ts(now), publication_id))
                self._event(publication_id, "publishing", "publishing", now, f"posted {label} ({ref.id})", index)
            return self.get(publication_id)

    def record_failure(self, publication_id: int, index: int, error: BaseException, *,
                       now: dt.datetime | None = None) -> Publication:
        """Map a failed post to the next state (see :mod:`publisher.platforms.base`):

        * RateLimited -> ``scheduled`` at the reset time; the account pauses until then.
        * Transient -> ``failed`` with a backoff and next try (``needs_attention`` after
          :data:`MAX_ATTEMPTS`).
        * OutcomeUnknown, or anything unexpected -> ``needs_attention`` naming the post.
        * AuthFailed -> ``failed`` without a next try, and the account is stopped.
        * Rejected -> ``needs_attention`` (a person edits or rejects it).
        """
        from publisher.platforms.base import AuthFailed, OutcomeUnknown, RateLimited, Rejected, Transient

        now = _aware(now or utcnow(), "now")
        with self.transaction():
            pub = self._own(publication_id)
            if pub.inflight_index != index:
                raise StoreError(f"publication {publication_id}: post {index + 1} was not in flight")
            label = _post_label(index, pub.n_posts)
            where = f"{label} to {pub.platform}"
            if isinstance(error, RateLimited):
                reset = error.reset_at or (now + DEFAULT_RATE_LIMIT_WAIT)
                if reset <= now:
                    reset = now + dt.timedelta(seconds=5)
                kind = "daily cap" if error.daily else "rate limit"
                from publisher.clock import local_text

                local = local_text(reset)
                why = f"{kind} reached before {label}: rescheduled for {local} ({error})"
                self._account_update(pub.platform, pub.account, paused_until=ts(reset), pause_reason=why)
                self._transition(publication_id, "scheduled", now, why, post_index=index, scheduled_at=ts(reset))
            elif isinstance(error, Transient):
                attempts = pub.attempts + 1
                if attempts >= MAX_ATTEMPTS:
                    self._transition(publication_id, "needs_attention", now,
                                     f"gave up on {where} after {attempts} attempts: {error}", post_index=index,
                                     attempts=attempts)
                else:
                    wait = backoff(attempts)
                    self._transition(publication_id, "failed", now,
                                     f"{where} failed (attempt {attempts}), nothing was posted; next try in "
                                     f"{_human(wait)}: {error}", post_index=index, attempts=attempts,
                                     next_try_at=ts(now + wait))
            elif isinstance(error, AuthFailed):
                why = (f"{pub.platform} rejected the credentials: posting to {pub.account} is stopped until "
                       f"`publisher accounts check` succeeds ({error})")
                self._account_update(pub.platform, pub.account, blocked_reason=why, blocked_at=ts(now))
                self._transition(publication_id, "failed", now, f"{where} not sent: {why}", post_index=index,
                                 next_try_at=None)
            elif isinstance(error, Rejected):
                self._transition(publication_id, "needs_attention", now,
                                 f"{pub.platform} refused {label}: {error}; edit or reject it", post_index=index)
            else:
                what = str(error) if isinstance(error, OutcomeUnknown) else f"{type(error).__name__}: {error}"
                self._transition(publication_id, "needs_attention", now,
                                 f"outcome of {where} unknown ({what}); `publisher resolve {publication_id} --check` "
                                 f"asks {pub.platform}, or look and run `publisher resolve {publication_id} --posted "
                                 "--post-id ID` or --not-posted",
                                 post_index=index, unknown_index=index)
            return self.get(publication_id)

    def recover(self, now: dt.datetime | None = None) -> list[Publication]:
        """Settle publications left ``publishing`` by a process that is gone.

        A post in flight when it died: ``needs_attention`` naming that post (it may or may not
        be on the platform). Nothing in flight: back to where it was claimed from. Cheap to call
        often (an index lookup when there is nothing to do).
        """
        now = _aware(now or utcnow(), "now")
        rows = self.db.execute("SELECT id, owner, inflight_index, n_posts, claimed_from, platform FROM publications "
                               "WHERE state = 'publishing'").fetchall()
        stale = [r for r in rows if not self._owner_alive(r[1])]
        if not stale:
            return []
        changed = []
        with self.transaction() as db:
            for pub_id, owner, inflight, n_posts, claimed_from, platform in stale:
                current = db.execute("SELECT state, owner, inflight_index FROM publications WHERE id = ?",
                                     (pub_id,)).fetchone()
                if current[0] != "publishing" or current[1] != owner:
                    continue
                who = _describe_owner(owner)
                if inflight is not None:
                    label = _post_label(inflight, n_posts)
                    self._transition(pub_id, "needs_attention", now,
                                     f"interrupted while sending {label} ({who} stopped): it may or may not be on "
                                     f"{platform}; check, then `publisher resolve {pub_id} --posted --post-id ID` "
                                     "or --not-posted", post_index=inflight, unknown_index=inflight)
                else:
                    self._transition(pub_id, claimed_from or "approved", now,
                                     f"{who} stopped before sending anything; back in line")
                changed.append(self.get(pub_id))
        return changed


# --- helpers ---------------------------------------------------------------------------------


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite reads an empty file as a new
    database, and makes its -wal and -shm files with the same mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before try ``attempts + 1``: 1, 2, 4, 8, 16 minutes... at most an hour."""
    return dt.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _path_key(path: Path | str) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


def _edited_posts(posts: Sequence["str | EditedPost"], current: StoredThread) -> list[EditedPost]:
    """``posts`` as EditedPost, stripped; plain strings take the current roles by position."""
    if any(isinstance(p, str) for p in posts) and len(posts) != len(current.posts):
        raise ValueError(f"the thread has {len(current.posts)} posts and the edit {len(posts)}: give each post's "
                         "role (EditedPost), positions no longer say it")
    return [EditedPost(text=p.strip(), role=current.posts[i].role) if isinstance(p, str)
            else EditedPost(text=p.text.strip(), role=p.role.strip().lower())
            for i, p in enumerate(posts)]


_NUMBERING = re.compile(r"(\d+)/(\d+)(?=\s|$)")


def _renumbered(texts: list[str], current: StoredThread) -> list[str]:
    """``texts`` with "n/m " prefixes numbered for the current thread's count renumbered for
    their new place and count. Only when the current thread is numbered that way at all."""
    old_total = len(current.posts)
    numbered = any((m := _NUMBERING.match(p.text)) and int(m.group(1)) == p.index + 1
                   and int(m.group(2)) == old_total for p in current.posts)
    if not numbered:
        return texts
    out = []
    for number, text in enumerate(texts, start=1):
        m = _NUMBERING.match(text)
        if m and int(m.group(2)) == old_total:
            text = f"{number}/{len(texts)}{text[m.end():]}"
        out.append(text)
    return out


def _length_problems(thread: StoredThread) -> str | None:
    """Problems with the stored lengths (measured when the thread was rendered or edited)."""
    problems = []
    for post in thread.posts:
        if not post.text.strip():
            problems.append(f"post {post.index + 1} is empty")
        elif post.length > post.limit:
            problems.append(f"post {post.index + 1} has {post.length} characters, over the limit of {post.limit}")
    return "; ".join(problems) or None


def not_ready_message(pub: Publication) -> str:
    if pub.state == "draft":
        return f"publication {pub.id} is not approved (`publisher approve {pub.id}`)"
    if pub.state == "posted":
        return f"publication {pub.id} is already posted"
    if pub.state == "rejected":
        return f"publication {pub.id} was rejected"
    if pub.state == "needs_attention":
        if pub.unknown_index is not None:
            return (f"publication {pub.id}: nobody knows whether {_post_label(pub.unknown_index, pub.n_posts)} was "
                    f"posted; check {pub.platform}, then `publisher resolve {pub.id} --posted|--not-posted`")
        return f"publication {pub.id} needs attention: {pub.note}"
    if pub.state == "publishing":
        return claimed_message(pub)
    return f"publication {pub.id} is {pub.state}"


def claimed_message(pub: Publication) -> str:
    """Who is publishing ``pub`` since when, and the way out when that cannot be checked."""
    since = f" since {_utc_text(pub.claimed_at)}" if pub.claimed_at else ""
    message = f"publication {pub.id} is being published by {describe_owner(pub.owner)}{since}"
    status = owner_status(pub.owner)
    if status == "unknown":
        message += (" (another machine or container: it cannot be checked from here; if that process is gone, "
                    f"`publisher resolve {pub.id} --release-claim`)")
    elif status == "dead":
        message += " (that process is gone; it is settled at the next `publisher queue`)"
    return message


def _utc_text(value: dt.datetime) -> str:
    """An instant in the display zone (schedule.yaml's), named."""
    from publisher.clock import local_text

    return local_text(value)
