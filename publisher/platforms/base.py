"""The interface every social network adapter implements, and how failures are classified.

The publisher (not the adapter) decides what to do with each failure class:

* :class:`RateLimited` — the request was refused before anything was posted; try again at
  ``reset_at`` (a window limit or a daily cap).
* :class:`Transient` — nothing was posted (connection refused, 5xx before acceptance); retry
  with backoff.
* :class:`OutcomeUnknown` — the request may have been posted (timeout or reset after sending,
  X "duplicate content"); never retried automatically: a person settles it.
* :class:`AuthFailed` — credentials rejected or revoked; stop posting for that account.
* :class:`Rejected` — the platform refused this content for good (too long, invalid);
  a person must look.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

from publisher.errors import PlatformError
from publisher.models import PostRef  # the record the queue stores too; adapters import it from here


@dataclass(frozen=True)
class MediaItem:
    """An image to upload (bytes already fitted to the platform, see :mod:`publisher.media`)."""

    data: bytes = field(repr=False)
    mime: str
    alt: str
    width: int
    height: int
    sha256: str
    animated: bool = False


@dataclass(frozen=True)
class Attachment:
    """An uploaded image, to attach to a post (``media_id`` as the platform gave it)."""

    media_id: str
    mime: str
    alt: str
    width: int
    height: int
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Card:
    """A link card (Bluesky ``app.bsky.embed.external``); ``thumb`` is an uploaded image."""

    uri: str
    title: str
    description: str
    thumb: Attachment | None = None


@dataclass(frozen=True)
class Identity:
    """Who we are on a platform, as returned by a credentials check."""

    platform: str
    handle: str
    id: str | None = None
    max_characters: int | None = None
    """The server's own post length limit, when it tells (Mastodon instances)."""


@dataclass(frozen=True)
class CannotTell:
    """What :meth:`Platform.find_post` answers when the platform's answer does not settle it
    (the look-up did not reach back to the attempt, a reply with other text is there, the read
    was refused...): ``reason`` says why, in one line; nothing must be changed."""

    reason: str


@runtime_checkable
class Platform(Protocol):
    name: str
    """"x", "mastodon", "bluesky" or "dry-run"."""

    def check(self) -> Identity:
        """Verify the credentials without posting. Raises AuthFailed / Transient."""
        ...

    def post(self, text: str, *, reply_to: PostRef | None, root: PostRef | None,
             idempotency_key: str) -> PostRef:
        """Publish one post, as a reply to ``reply_to`` (whose thread starts at ``root``).

        ``idempotency_key`` is stable for one post of one publication; platforms that support
        idempotency send it, the others ignore it. Adapters that take images also accept
        ``media=`` (a sequence of :class:`Attachment`) and, for Bluesky, ``card=`` (a
        :class:`Card`), and have ``upload_media(item: MediaItem) -> publisher.queue.media.Upload``;
        these are only passed when a post has images.
        """
        ...

    def find_post(self, text: str, *, reply_to: PostRef | None, since: dt.datetime,
                  idempotency_key: str) -> "PostRef | None | CannotTell":
        """Look on the account for a post whose outcome was unknown (``publisher resolve --check``).

        ``text`` is the post as it was sent, ``reply_to`` the post it replied to (None for the
        first post of a new thread), ``since`` when it was begun, ``idempotency_key`` the key it
        was sent with. Answers the post (a :class:`PostRef`, as :meth:`post` would have), None
        when it is surely not there (the look-up covered everything since the attempt), or a
        :class:`CannotTell`. Never posts anything; classified failures of the read itself may
        be raised.
        """
        ...


class PostFailed(PlatformError):
    """Base of the classified failures; ``platform`` says where it happened."""

    def __init__(self, platform: str, message: str):
        self.platform = platform
        super().__init__(f"{platform}: {message}")


class RateLimited(PostFailed):
    def __init__(self, platform: str, message: str, reset_at: dt.datetime | None = None, daily: bool = False):
        self.reset_at = reset_at
        self.daily = daily
        super().__init__(platform, message)


class Transient(PostFailed):
    """Nothing was posted; safe to retry later."""


class OutcomeUnknown(PostFailed):
    """The post may or may not exist; only a person may decide to post again."""


class AuthFailed(PostFailed):
    """Credentials missing, rejected or revoked; stop this account."""


class Rejected(PostFailed):
    """The platform refused this content permanently."""


# Which platforms exist, their credential names and how to load their adapters:
# publisher.platforms.registry. Which credentials the operator configured: publisher.settings.configured_platform.
