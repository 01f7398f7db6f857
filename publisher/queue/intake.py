"""Storing work: an article revision, its translation and a draft publication per thread
(:meth:`Intake.add_article`), and an edited thread in place of the current one
(:meth:`Intake.replace_thread`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Mapping

from publisher.clock import aware, ts, utcnow
from publisher.errors import StoreError
from publisher.queue.media import store_thread_media
from publisher.queue.records import Ingested, Publication
from publisher.queue.reads import stored_path
from publisher.queue.review import Review
from publisher.queue.states import length_problems

if TYPE_CHECKING:
    from publisher.models import Article, Thread, TranslatedArticle


class Intake(Review):
    """New revisions and edited threads (auto-approval uses :class:`Review`'s approval)."""

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
        now = aware(now or utcnow(), "now")
        for platform, thread in threads.items():
            if thread.platform != platform:
                raise ValueError(f"thread for {platform!r} says it is for {thread.platform!r}")
            if thread.article_hash != article.source_hash:
                raise ValueError(f"the {platform} thread was made from another article ({thread.article_hash[:12]})")
            if not thread.posts:
                raise StoreError(f"{article.path}: the {platform} thread has no posts")
        if translated is not None and translated.article.source_hash != article.source_hash:
            raise ValueError("the translation is of another article")
        path_key = stored_path(article.path)
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
                    problems = length_problems(self._thread(thread_id))
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
            store_thread_media(self.db, thread_id, thread)  # type: ignore[arg-type]
        return thread_id  # type: ignore[return-value]

    def replace_thread(self, publication_id: int, thread: "Thread", reason: str, *,
                       now: dt.datetime | None = None) -> Publication:
        """Store ``thread`` (already checked: :mod:`publisher.publishing.editing`) as the
        publication's thread, which becomes a ``draft`` again (any approval withdrawn), with
        ``reason`` in its history. The old thread stays stored (threads are immutable)."""
        now = aware(now or utcnow(), "now")
        with self.transaction():
            pub = self.get(publication_id)
            thread_id = self._insert_thread(pub.article_id, thread, "edit", now)
            self._transition(publication_id, "draft", now, reason, thread_id=thread_id, n_posts=len(thread.posts),
                             approved_hash=None, approved_at=None, attempts=0)
            return self.get(publication_id)
