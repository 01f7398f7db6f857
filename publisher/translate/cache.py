"""The translation cache: an SQLite file of (model, version, glossary, sentence) -> English.

Kept apart from the queue database (``$PUBLISHER_HOME/translations.db``, or
``PUBLISHER_TRANSLATION_CACHE``) so that it can be deleted at any time without losing
anything but time. The key holds the model's identity (its name and the decoding settings
that change its output), its version, the glossary's version and the exact sentence the model
was given, so a new model, a changed glossary or a changed sentence never reuses an answer.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping

from publisher.errors import ConfigError

CACHE_FILE_NAME = "translations.db"


def _create_translations(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE translations (
               model TEXT NOT NULL,
               model_version TEXT NOT NULL,
               glossary TEXT NOT NULL,
               source TEXT NOT NULL,
               target TEXT NOT NULL,
               created REAL NOT NULL,
               PRIMARY KEY (model, model_version, glossary, source)
           ) WITHOUT ROWID"""
    )


#: Named migrations, applied once each, in order, and recorded. Append only.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_create_translations", _create_translations),
]


def default_cache_path() -> Path:
    env = os.environ.get("PUBLISHER_TRANSLATION_CACHE")
    if env:
        return Path(env).expanduser()
    from publisher.config import Paths

    return Paths.from_env().home / CACHE_FILE_NAME


class TranslationCache:
    """Translations of single sentences, looked up and stored in batches."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        try:
            from publisher.queue.db import create_private, private_folder

            private_folder(self.path.parent)  # 0700 when made here; the cache holds article text
            create_private(self.path)  # 0600 (SQLite gives -wal and -shm the same mode)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: translation cache unusable ({exc}); delete the file to start "
                              "a new one") from None
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the translation cache ({exc.strerror or exc})") from None

    def _migrate(self) -> None:
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
            done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
        for name, migration in MIGRATIONS:
            if name in done:
                continue
            with self.db:
                migration(self.db)
                self.db.execute("INSERT INTO migrations (name, applied) VALUES (?, ?)", (name, time.time()))

    def get_many(self, model: str, model_version: str, glossary: str, sources: Iterable[str]) -> dict[str, str]:
        """Cached translations of ``sources`` (those not cached are absent)."""
        found: dict[str, str] = {}
        items = list(dict.fromkeys(sources))
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT source, target FROM translations WHERE model = ? AND model_version = ? AND glossary = ? "
                f"AND source IN ({marks})",
                (model, model_version, glossary, *chunk),
            )
            found.update(rows.fetchall())
        return found

    def put_many(self, model: str, model_version: str, glossary: str, pairs: Mapping[str, str]) -> None:
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO translations (model, model_version, glossary, source, target, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(model, model_version, glossary, src, tgt, now) for src, tgt in pairs.items()],
            )

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM translations").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "TranslationCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
