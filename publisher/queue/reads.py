"""Reading the queue: one publication, its thread and history, an article, listings and counts,
post times for quotas, an account's state. SELECTs only.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Sequence

from publisher.clock import aware, from_ts, ts
from publisher.errors import StoreError
from publisher.models import PostRef
from publisher.queue.media import load_thread_media
from publisher.queue.records import AccountState, ArticleRecord, Event, Publication, QueueRow, StoredPost, StoredThread
from publisher.queue.states import STATES
from publisher.queue.store import Store

PUB_COLUMNS = """p.id, p.article_id, p.platform, p.account, p.thread_id, t.title, p.state, t.content_hash,
    p.approved_hash, p.approved_at, p.scheduled_at, p.next_try_at, p.due_at, p.attempts, p.n_posts,
    p.posted_count, p.owner, p.inflight_index, p.unknown_index, p.note, p.created_at, p.updated_at,
    p.claimed_at, p.inflight_since"""
PUB_FROM = "publications p JOIN threads t ON t.id = p.thread_id"


def read_publication(row: sqlite3.Row | tuple) -> Publication:
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


def stored_path(path: Path | str) -> str:
    """An article's path as stored (resolved, when it can be)."""
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


class Reads(Store):
    """What the queue holds, read."""

    def get(self, publication_id: int) -> Publication:
        row = self.db.execute(f"SELECT {PUB_COLUMNS} FROM {PUB_FROM} WHERE p.id = ?", (publication_id,)).fetchone()
        if row is None:
            raise StoreError(f"no publication {publication_id}")
        return read_publication(row)

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
        media, card = load_thread_media(self.db, thread_id)
        return StoredThread(id=t[0], platform=t[1], title=t[2], content_hash=t[3], origin=t[4], posts=tuple(posts),
                            dropped=tuple(json.loads(t[5])), warnings=tuple(json.loads(t[6])), media=media, card=card)

    def posted_refs(self, publication_id: int) -> list[PostRef]:
        """What the platform returned for each posted post, in thread order."""
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
        return [read_publication(r) for r in self.db.execute(
            f"SELECT {PUB_COLUMNS} FROM {PUB_FROM} WHERE p.article_id = ? ORDER BY p.id", (article_id,))]

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

    def latest_revision(self, article: int | str | Path) -> ArticleRecord:
        """The latest stored revision of an article, given the id of any of its revisions or
        the path of its file."""
        if isinstance(article, int):
            row = self.db.execute("SELECT path FROM articles WHERE id = ?", (article,)).fetchone()
            if row is None:
                raise StoreError(f"no article {article}")
            path = row[0]
        else:
            path = stored_path(article)
        row = self.db.execute("SELECT id FROM articles WHERE path = ? ORDER BY revision DESC LIMIT 1",
                              (path,)).fetchone()
        if row is None:
            raise StoreError(f"no article stored from {article}")
        return self.article(row[0])

    def post_times(self, platform: str, since: dt.datetime) -> list[dt.datetime]:
        """When each post on ``platform`` (any account) after ``since`` was made: the scheduler's
        rolling-quota input."""
        rows = self.db.execute("SELECT posted_at FROM post_results WHERE platform = ? AND posted_at > ?",
                               (platform, ts(aware(since, "since")))).fetchall()
        return [from_ts(r[0]) for r in rows]  # type: ignore[misc]

    def posts_since(self, platform: str, since: dt.datetime, *, account: str | None = None) -> int:
        """Posts sent on ``platform`` (one account, or all) at or after ``since``: quota used."""
        return self.db.execute(
            "SELECT count(*) FROM post_results WHERE platform = ? AND account = ? AND posted_at >= ?",
            (platform, account or platform, ts(aware(since, "since")))).fetchone()[0]

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
