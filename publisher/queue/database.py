"""Where the queue database is: a SQLite file (the default) or a PostgreSQL server.

``PUBLISHER_DB`` (the environment or ``.env``, like every path setting) is either a file path or a
URL ``postgresql://user@host/dbname``. This module
is light (no driver import): it tells the two apart and opens the small connections the daemon's
ledgers use. Everything PostgreSQL-specific lives in :mod:`publisher.queue.pgstore`, imported only when a
``postgresql://`` URL is used.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

#: A database named by URL. ``sqlite:///PATH`` is accepted too (``publisher db copy``).
_PG = re.compile(r"^postgres(ql)?://", re.I)
_SQLITE = re.compile(r"^sqlite:///", re.I)

def is_postgres(target: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(target, str) and bool(_PG.match(target))


def target(value: "Path | str") -> "Path | str":
    """A PostgreSQL URL as it is (a Path would fold its ``//``), anything else as a Path.
    ``sqlite:///PATH`` is PATH (SQLAlchemy's spelling: ``sqlite:////abs/file.db``, ``sqlite:///rel.db``)."""
    if is_postgres(value):
        return str(value)
    if isinstance(value, str) and _SQLITE.match(value):
        return Path(_SQLITE.sub("", value)).expanduser()
    return Path(value).expanduser()


def shown(value: "Path | str") -> str:
    """The database for messages: a URL without its password."""
    text = str(value)
    if is_postgres(text):
        return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@/]*@", r"\1:***@", text, flags=re.I)
    return text


def exists(value: "Path | str") -> bool:
    """A server database counts as existing (it is created by `publisher db migrate` or the first
    command, and a wrong URL gives its own error when opened)."""
    return True if is_postgres(value) else Path(value).exists()


def connect(value: "Path | str", *, existing: bool = False) -> Any:
    """A connection in autocommit mode for the daemon's small ledgers (slots, reported files,
    feeds), used as ``with connect(db) as conn:``: SQLite as before (``existing``: a file that
    must be there, :func:`publisher.queue.db.connect_existing`), or on PostgreSQL a connection
    lent by the process's pool for that URL (psycopg_pool) for the block."""
    if is_postgres(value):
        from publisher.queue.pgstore import pooled

        return pooled(str(value))
    if existing:
        from publisher.queue.db import connect_existing

        conn = connect_existing(Path(value))
    else:
        conn = sqlite3.connect(value, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn
