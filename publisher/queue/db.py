"""Safety around the SQLite files: damaged, empty, deleted, full, read-only — and backups.

What the operator stored must never be lost or silently replaced:

* :func:`check` runs ``PRAGMA quick_check`` when a database is opened (``integrity_check`` for
  ``publisher db check``); a damaged file is refused with :class:`DatabaseDamaged`, whose
  message says to stop every publisher process and restore a backup — never to delete it.
* An existing file of zero bytes is refused (:func:`refuse_empty`): SQLite would read it as a
  new, empty queue, and every approval and post id would be silently gone.
* :func:`connect_existing` opens a database that must already exist (``mode=rw``): after the
  file was deleted under a running daemon, nothing creates a fresh empty one in its place;
  :class:`DatabaseWatch` notices the deletion (or a replacement: another inode) and the daemon
  stops loudly.
* :func:`explain` turns "disk I/O error" / "database or disk is full" into "the disk is full",
  which invites freeing space, not deleting the database.
* :func:`open_read_only` opens for reading on a read-only filesystem (``mode=ro``, else
  ``immutable=1``), for ``queue`` and ``show``.
* :func:`backup` copies a live database with SQLite's online backup API.
* :func:`create_private` / :func:`private_folder`: every new database file is 0600, in a 0700
  folder when publisher creates it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

from publisher.errors import StoreError

RESTORE_ADVICE = ("stop every publisher process (the daemon, cron jobs) and do not delete the file: "
                  "keep a copy of it, and restore the latest backup (`publisher db backup` makes one)")


class DatabaseDamaged(StoreError):
    """The database file is corrupt: refused for writes."""

    exit_code = 74  # EX_IOERR


class DatabaseGone(StoreError):
    """The database file was deleted or replaced while a process was using it."""

    exit_code = 74


class DiskFull(StoreError):
    exit_code = 74


def private_folder(folder: Path) -> None:
    """Make ``folder`` (0700 when publisher creates it; an existing folder keeps its mode)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_private(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when it was created here.
    SQLite gives the -wal and -shm files the database file's mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def refuse_empty(path: Path, what: str = "queue database") -> None:
    """An existing zero-byte file is not a fresh database: refuse it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0 and not _has_wal(path):
        raise DatabaseDamaged(f"{path}: the {what} file is empty (0 bytes): it was truncated or replaced, and "
                              f"opening it would start an empty queue; {RESTORE_ADVICE}. Only if this is a new "
                              "setup with nothing stored yet, remove the empty file")


def _has_wal(path: Path) -> bool:
    wal = Path(str(path) + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _uri(path: Path, **params: str) -> str:
    query = urllib.parse.urlencode(params)
    return f"file:{urllib.parse.quote(str(Path(path).resolve()))}?{query}"


def connect_existing(path: Path, timeout: float = 30) -> sqlite3.Connection:
    """A connection to a database that must exist (never creates an empty one)."""
    if not Path(path).exists():
        raise DatabaseGone(f"{path}: the database file is gone (deleted or moved while publisher was using it); "
                           f"{RESTORE_ADVICE}")
    return sqlite3.connect(_uri(path, mode="rw"), uri=True, timeout=timeout, isolation_level=None,
                           check_same_thread=False)


def open_read_only(path: Path) -> sqlite3.Connection:
    """For reading only: ``mode=ro``; on a read-only filesystem (no -shm can be made) ``immutable=1``."""
    if not Path(path).exists():
        raise StoreError(f"{path}: no queue database here")
    try:
        conn = sqlite3.connect(_uri(path, mode="ro"), uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        pass
    conn = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True, isolation_level=None,
                           check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def check(conn: sqlite3.Connection, path: Path, *, full: bool = False) -> list[str]:
    """``quick_check`` (or ``integrity_check`` with ``full``): the problems found, [] when sound."""
    pragma = "integrity_check" if full else "quick_check"
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if isinstance(exc, sqlite3.OperationalError) and not any(
                w in text for w in ("malformed", "corrupt", "not a database")):
            raise  # cannot look (read-only filesystem, disk full, locked): not a verdict on the file
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def refuse_damaged(conn: sqlite3.Connection, path: Path) -> None:
    problems = check(conn, path)
    if problems:
        first = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        raise DatabaseDamaged(f"{path}: the database is damaged ({first}); nothing more is written to it: "
                              f"{RESTORE_ADVICE}")


def is_disk_full(path: Path, exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if "disk is full" in text or "no space" in text:
        return True
    if "disk i/o error" in text or "unable to open" in text:
        try:
            return shutil.disk_usage(Path(path).parent).free < 256 * 1024
        except OSError:
            return False
    return False


def explain(path: Path, exc: BaseException) -> StoreError | None:
    """A clear error for a disk-full failure (None when it is something else)."""
    if is_disk_full(path, exc):
        return DiskFull(f"{path}: the disk holding the database is full; nothing was lost (the change that "
                        "did not fit was not saved): free some space and run the command again")
    return None


def is_read_only(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return True
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open database file" in text


class DatabaseWatch:
    """Notices that the database file was deleted or replaced (another inode) under a process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        st = self.path.stat()
        self.identity = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return (f"{self.path}: the queue database was deleted while publisher was running; stopping so that "
                    f"nothing is posted without its record: {RESTORE_ADVICE}")
        except OSError as exc:
            return f"{self.path}: cannot see the queue database any more ({exc.strerror or exc}); stopping"
        if (st.st_dev, st.st_ino) != self.identity:
            return (f"{self.path}: the queue database was replaced by another file while publisher was running; "
                    f"stopping: {RESTORE_ADVICE}")
        return None


def backup(path: Path, target: Path) -> int:
    """Copy the live database ``path`` to ``target`` with SQLite's online backup API (consistent
    even while the daemon writes); ``target`` is made 0600 and must not exist. Returns its size."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"{target}: already exists; choose a new file name (a backup never overwrites)")
    source = connect_existing(path)
    try:
        refuse_damaged(source, path)
        private_folder(target.parent)
        create_private(target)
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest)
            problems = check(dest, target, full=True)
        finally:
            dest.close()
        if problems:
            raise DatabaseDamaged(f"{target}: the backup does not check out ({problems[0]})")
    except OSError as exc:
        failure = explain(target, exc)
        target.unlink(missing_ok=True)
        raise failure or StoreError(f"{target}: cannot write the backup ({exc.strerror or exc})") from None
    except sqlite3.Error as exc:
        failure = explain(target, exc)
        target.unlink(missing_ok=True)
        raise failure or StoreError(f"{target}: cannot write the backup ({exc})") from None
    finally:
        source.close()
    return target.stat().st_size

