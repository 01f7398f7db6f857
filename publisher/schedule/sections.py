"""The sections of schedule.yaml: one pydantic model per block (quiet hours, sources, accounts,
slots, thread settings, platforms, alerts, prices), and the check that a value is the NAME of an
environment variable, not a secret. :class:`publisher.schedule.config.Schedule` puts them together
and :func:`publisher.schedule.config.load_schedule` reads the file.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from publisher.clock import parse_duration
from publisher.bounds import (DEFAULT_MAX_POSTS, DEFAULT_POINTS, MAX_LIMIT, MAX_POINTS, MAX_POSTS, MIN_LIMIT, MIN_POINTS,
                               MIN_POSTS)
from publisher.platforms import registry
from publisher.text import is_address
from publisher.schedule.slots import days_text, hm, parse_days, parse_time_of_day
from publisher.translate.engines import TranslationConfig

PLATFORMS = registry.NAMES
"""Platforms a schedule may name (the registry's)."""


_ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


# --- value types -----------------------------------------------------------------------------


def looks_like_secret(value: str) -> bool:
    """A value that is probably a credential rather than the NAME of an environment variable."""
    if not _ENV_NAME_RE.match(value):
        return True
    # Upper-case tokens exist too: long runs without separators, or many digits, are not names.
    if len(value) >= 16 and "_" not in value:
        return True
    digits = sum(c.isdigit() for c in value)
    return len(value) >= 12 and digits * 3 >= len(value)


# --- the schema ------------------------------------------------------------------------------


class _At(ValueError):
    """A model-level problem that belongs to a key deeper in the file."""

    def __init__(self, loc: tuple, message: str):
        self.loc = loc
        super().__init__(message)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class QuietHours(_Model):
    """A daily span of local time in which nothing is posted; it may wrap past midnight."""

    start: dt.time
    end: dt.time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> dt.time:
        return parse_time_of_day(value)

    @model_validator(mode="after")
    def _not_empty(self) -> "QuietHours":
        if self.start == self.end:
            raise ValueError("start and end are the same time: quiet hours would be empty")
        return self

    def contains(self, wall: dt.time) -> bool:
        """Whether the local wall-clock time ``wall`` falls in [start, end)."""
        wall = wall.replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def __str__(self) -> str:
        return f"{hm(self.start)}–{hm(self.end)}"


class Source(_Model):
    """A folder watched for article files (and, with ``feed``/``pages``, where fetched ones go)."""

    path: Path
    auto_approve: bool = False
    """Approve the threads made from this folder's articles at once (no review step)."""
    platforms: tuple[str, ...] = Field(min_length=1)
    """Platforms a thread is made for."""
    feed: str | None = None
    """An RSS or Atom feed whose new entries are fetched into ``path`` (publisher.feeds)."""
    pages: tuple[str, ...] = ()
    """Article URLs fetched into ``path`` (and fetched again when they change)."""
    poll_every: dt.timedelta = dt.timedelta(minutes=30)
    """How often ``feed`` and ``pages`` are polled (later and later after errors)."""
    backfill: int = Field(default=3, ge=0, le=100)
    """On a feed's first poll, how many of its newest entries are fetched (the rest are only remembered)."""

    @field_validator("feed")
    @classmethod
    def _feed(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("pages", mode="before")
    @classmethod
    def _pages(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            return tuple(dict.fromkeys(_http_url(v) for v in value))
        return value

    @field_validator("poll_every", mode="before")
    @classmethod
    def _poll_every(cls, value: Any) -> dt.timedelta:
        every = parse_duration(value)
        if every < dt.timedelta(minutes=1):
            raise ValueError("must be at least 1m (be kind to the sites you read)")
        return every
    translation: TranslationConfig | None = None
    """Translation settings for this folder's articles (keys set here replace the top-level ones)."""

    base_url: str | None = None
    """Where the articles of this folder are published: a relative ``permalink:`` in their
    frontmatter is joined with it to give the thread its link to the original."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not is_address(value.strip()):
            raise ValueError(f"base_url must be an http(s) address such as https://example.com/blog/, not {value!r}")
        return value.strip() if value is not None else None

    @field_validator("platforms", mode="before")
    @classmethod
    def _platforms(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            seen: list[str] = []
            for item in value:
                if not isinstance(item, str) or item.strip().lower() not in PLATFORMS:
                    raise ValueError(f"{item!r} is not a platform ({', '.join(PLATFORMS)})")
                if item.strip().lower() not in seen:
                    seen.append(item.strip().lower())
            return tuple(seen)
        return value


def _http_url(value: Any) -> str:
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an http(s) URL")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value.strip()!r} is not an http(s) URL")
    return value.strip()


class Account(_Model):
    """One account on a platform: whether it posts, its quota, and where its credentials are."""

    enabled: bool = True
    daily_quota: PositiveInt | None = None
    """Posts per rolling 24 hours; a thread of n posts uses n. Default: X 17, others none."""
    env: dict[str, str] = Field(default_factory=dict)
    """Credential role -> NAME of the environment variable that holds it (never the secret)."""
    daily_budget: float | None = Field(default=None, gt=0)
    """US dollars this account may spend on posts per rolling 24 hours (X charges per post; see
    publisher.schedule.cost). A thread is only started when its whole estimated cost fits."""

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            if looks_like_secret(name):
                # Never repeat the value: it may be a real secret.
                raise _At(
                    (role,), "this looks like a secret, not the name of an environment "
                    "variable; put the secret in the environment (or .env) and write the variable's "
                    "NAME here, e.g. X_API_KEY")
        return value


class SlotRule(_Model):
    """Days of the week and local times, like a row of Buffer's posting schedule."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    times: tuple[dt.time, ...] = Field(min_length=1)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> tuple[int, ...]:
        return parse_days(value)

    @field_validator("times", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        if isinstance(value, (str, dt.time)):
            value = [value]
        if isinstance(value, (list, tuple)):
            return tuple(sorted({parse_time_of_day(v) for v in value}))
        return value

    def describe(self) -> str:
        return f"{days_text(self.days)} {', '.join(hm(t) for t in self.times)}"


class ThreadSettings(_Model):
    """How threads are cut (publisher.settings.thread_options turns it into ThreadOptions). The bounds
    are publisher.bounds', shared with ThreadOptions."""

    points: int = Field(default=DEFAULT_POINTS, ge=MIN_POINTS, le=MAX_POINTS)
    """How many key points a thread tries to include."""
    max_posts: int = Field(default=DEFAULT_MAX_POSTS, ge=MIN_POSTS, le=MAX_POSTS)
    """Most posts in one thread, hook and attribution included."""
    allow: tuple[str, ...] = ()
    """@mentions, #hashtags and $cashtags from article text that may stay live (all others are
    made inert so that they notify or tag nobody)."""
    hold_untranslated: bool = True
    """A source's auto_approve is withheld (the threads wait for a person) when Chinese is
    left in the English posts: a sign the translation failed somewhere."""
    images: Literal["none", "lead", "points"] = "lead"
    """Images posted with a thread: none, the lead image on the hook, or also the image next to
    each point's paragraph (see publisher.media)."""


class PlatformConfig(_Model):
    enabled: bool = True
    max_characters: int | None = Field(default=None, ge=MIN_LIMIT, le=MAX_LIMIT)
    """Post length limit: X 280 (more for long-post accounts), Mastodon 500 unless the instance
    allows more, Bluesky 300. Counted the way the platform counts."""
    max_posts: int | None = Field(default=None, ge=MIN_POSTS, le=MAX_POSTS)
    """Overrides threads.max_posts for this platform."""
    min_gap: dt.timedelta | None = None
    """Overrides the top-level min_gap for this platform."""
    accounts: dict[str, Account] = Field(default_factory=lambda: {"default": Account()})
    slots: tuple[SlotRule, ...] = ()

    @field_validator("min_gap", mode="before")
    @classmethod
    def _gap(cls, value: Any) -> dt.timedelta | None:
        return None if value is None else parse_duration(value)


NOTIFY_EVENTS = ("needs_person", "account_stopped", "failed", "unusable", "quota_blocked")
"""Events `notify:` can send (see publisher.cockpit.notify)."""


class NotifySettings(_Model):
    """Where alerts go: apprise URLs, each read from the environment variable named here."""

    targets: tuple[str, ...] = Field(min_length=1)
    """NAMES of environment variables (or .env entries) each holding one apprise URL
    (mailto://, ntfy://, matrix://, slack://, tgram://, json://...): URLs carry tokens."""
    events: tuple[Literal[NOTIFY_EVENTS], ...] = NOTIFY_EVENTS  # type: ignore[valid-type]

    @field_validator("targets", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            for i, name in enumerate(value):
                if not isinstance(name, str) or "://" in name or looks_like_secret(name.strip()):
                    # Never repeat the value: an apprise URL holds its service's token.
                    raise _At((i,), "this is not the NAME of an environment variable; put the apprise URL "
                                    "in the environment (or .env), e.g. PUBLISHER_ALERT_URL=ntfy://..., and "
                                    "write the variable's NAME here")
        return value


class XPrices(_Model):
    post: float = Field(default=0.015, ge=0)
    post_with_url: float = Field(default=0.20, ge=0)


class Costs(_Model):
    """What posting costs (US dollars); the defaults live in publisher.schedule.cost."""

    x: XPrices = Field(default_factory=XPrices)
