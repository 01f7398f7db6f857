"""The queue's media rows: a thread's images and link card (tables of migration m005_media),
and the upload ledger (media ids stored before the post that uses them is sent).

SQL only, on the outbox's connection and inside the caller's transaction; choosing, fetching
and fitting images is :mod:`publisher.media`'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from publisher.clock import from_ts, ts

if TYPE_CHECKING:
    import sqlite3

    from publisher.models import LinkCard, PostImage, Thread


def store_thread_media(db: "sqlite3.Connection", thread_id: int, thread: "Thread") -> None:
    """Write a thread's images and card next to its posts (inside the caller's transaction)."""
    rows = [(thread_id, "image", m.post, pos, m) for pos, m in enumerate(thread.media)]
    if thread.card is not None and thread.card.thumb is not None:
        rows.append((thread_id, "thumb", thread.card.post, 0, thread.card.thumb))
    db.executemany(
        "INSERT INTO thread_media (thread_id, kind, idx, position, sha256, mime, width, height, size, "
        "original_sha256, original_size, alt, credit, source, animated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(t, kind, idx, pos, m.sha256, m.mime, m.width, m.height, m.size, m.original_sha256, m.original_size, m.alt,
          m.credit, m.source, int(m.animated)) for t, kind, idx, pos, m in rows])
    if thread.card is not None:
        c = thread.card
        db.execute("INSERT INTO thread_cards (thread_id, idx, uri, title, description) VALUES (?, ?, ?, ?, ?)",
                   (thread_id, c.post, c.uri, c.title, c.description))


def load_thread_media(db: "sqlite3.Connection", thread_id: int) -> tuple[tuple["PostImage", ...], "LinkCard | None"]:
    from publisher.models import LinkCard, PostImage

    images, thumb = [], None
    for kind, idx, sha, mime, w, h, size, osha, osize, alt, credit, source, animated in db.execute(
            "SELECT kind, idx, sha256, mime, width, height, size, original_sha256, original_size, alt, credit, "
            "source, animated FROM thread_media WHERE thread_id = ? ORDER BY idx, kind, position", (thread_id,)):
        item = PostImage(post=idx, sha256=sha, mime=mime, width=w, height=h, size=size, original_sha256=osha,
                         original_size=osize, alt=alt, credit=credit, source=source, animated=bool(animated))
        if kind == "thumb":
            thumb = item
        else:
            images.append(item)
    card = None
    row = db.execute("SELECT idx, uri, title, description FROM thread_cards WHERE thread_id = ?",
                     (thread_id,)).fetchone()
    if row is not None:
        card = LinkCard(post=row[0], uri=row[1], title=row[2], description=row[3], thumb=thumb)
    return tuple(images), card



@dataclass(frozen=True)
class Upload:
    """A media item uploaded to a platform, as stored before the post that uses it is sent."""

    media_id: str
    extra: Mapping[str, Any]
    expires_in: float | None = None
    """Seconds the platform keeps the upload unused (None: it did not say; kept for good)."""
    expires_at: dt.datetime | None = None
    """When the stored upload expires (from the publisher's clock at upload time)."""


def stored_upload(db: "sqlite3.Connection", publication_id: int, index: int, kind: str, position: int,
                  sha256: str, alt: str, now: dt.datetime) -> Upload | None:
    """An upload made earlier for this item that the platform still holds (not expired)."""
    row = db.execute("SELECT media_id, extra, expires_at FROM media_uploads WHERE publication_id = ? AND idx = ? "
                     "AND kind = ? AND position = ? AND sha256 = ? AND alt_hash = ? ORDER BY uploaded_at DESC LIMIT 1",
                     (publication_id, index, kind, position, sha256, _alt_hash(alt))).fetchone()
    if row is None:
        return None
    expires = from_ts(row[2])
    if expires is not None and expires <= now + dt.timedelta(minutes=5):
        return None
    return Upload(media_id=row[0], extra=json.loads(row[1]), expires_at=expires)


def record_upload(db: "sqlite3.Connection", publication_id: int, platform: str, account: str, index: int,
                  kind: str, position: int, sha256: str, alt: str, upload: Upload, now: dt.datetime) -> None:
    expires = now + dt.timedelta(seconds=upload.expires_in) if upload.expires_in is not None else upload.expires_at
    db.execute("INSERT INTO media_uploads (publication_id, platform, account, idx, kind, position, sha256, alt_hash, "
               "media_id, extra, uploaded_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (publication_id, platform, account, index, kind, position, sha256, _alt_hash(alt), upload.media_id,
                json.dumps(dict(upload.extra), default=str), ts(now), ts(expires) if expires else None))


def forget_uploads(outbox: Any, publication_id: int, index: int, now: dt.datetime) -> None:
    """Stop reusing the uploads of post ``index`` (the platform refused the post that carried
    them, perhaps because it had dropped them): the next attempt uploads again."""
    with outbox.transaction() as db:
        db.execute("UPDATE media_uploads SET expires_at = ? WHERE publication_id = ? AND idx = ?",
                   (ts(now), publication_id, index))


def _alt_hash(alt: str) -> str:
    return hashlib.sha256(alt.encode()).hexdigest()[:32]


def uploads_of(db: "sqlite3.Connection", publication_id: int) -> list[dict[str, Any]]:
    return [{"post": idx + 1, "kind": kind, "position": pos, "sha256": sha, "media_id": media_id,
             "uploaded_at": at, "expires_at": exp}
            for idx, kind, pos, sha, media_id, at, exp in db.execute(
                "SELECT idx, kind, position, sha256, media_id, uploaded_at, expires_at FROM media_uploads "
                "WHERE publication_id = ? ORDER BY idx, kind, position, uploaded_at", (publication_id,))]
