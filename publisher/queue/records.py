"""The records the queue hands out: a publication and where it stands, its stored thread, an
article revision, an event of its history, an account's state, what an ingest did.

Plain frozen dataclasses, read from the database by :mod:`publisher.queue.reads`; no SQL here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from publisher.queue.states import State

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
    """One post of a thread edited by hand (:func:`publisher.publishing.editing.edit_publication`)."""

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
