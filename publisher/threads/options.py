"""How threads are built: :class:`ThreadOptions`, validated on creation.

The bounds (post limits, posts per thread, points) are those of :mod:`publisher.bounds`, which
schedule.yaml's schema and the preview's options reuse, so all three accept the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from publisher.errors import ConfigError
from publisher.bounds import (DEFAULT_MAX_POSTS, DEFAULT_POINTS, MAX_LIMIT, MAX_POINTS, MAX_POSTS, MIN_LIMIT, MIN_POINTS,
                              MIN_POSTS)
from publisher.lengths import DEFAULT_LIMITS, PLATFORMS
from publisher.threads.sanitize import normal_entity

__all__ = ["DEFAULT_MAX_POSTS", "ThreadOptions", "check_platform"]


@dataclass(frozen=True)
class ThreadOptions:
    """How threads are built. Validated on creation; unknown platforms are refused."""

    limits: Mapping[str, int] = field(default_factory=dict)
    """Per-platform post limits, e.g. {"x": 25000} for a long-post account or {"mastodon": 1000}
    for an instance that allows it. Platforms not named keep DEFAULT_LIMITS."""
    max_posts: int | Mapping[str, int] = DEFAULT_MAX_POSTS
    """Most posts in one thread (hook and attribution included); one number or per platform."""
    points: int = DEFAULT_POINTS
    """How many key points to try to include."""
    allow: frozenset[str] = frozenset()
    """@mentions, #hashtags and $cashtags from article text that may stay live ("@kling_ai")."""
    terms: tuple[str, ...] = ()
    """English glossary terms never to split across posts (names come in through these)."""
    templates: Path | None = None
    """The user's template folder; None means ``templates/`` in the working directory."""
    base_url: str | None = None
    """What a relative ``permalink:`` is joined with (the schedule source's ``base_url``)."""
    pairs: frozenset[str] = frozenset({"mastodon"})
    """Platforms where two neighbouring points may share a post when both fit whole."""

    def __post_init__(self) -> None:
        limits = dict(DEFAULT_LIMITS)
        for platform, limit in dict(self.limits).items():
            check_platform(platform)
            if not isinstance(limit, int) or isinstance(limit, bool) or not MIN_LIMIT <= limit <= MAX_LIMIT:
                raise ConfigError(f"post limit for {platform} must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}, "
                                  f"not {limit!r}")
            limits[platform] = limit
        object.__setattr__(self, "limits", MappingProxyType(limits))
        if isinstance(self.max_posts, Mapping):
            per = {}
            for platform, value in self.max_posts.items():
                check_platform(platform)
                per[platform] = _check_max_posts(value)
            object.__setattr__(self, "max_posts", MappingProxyType(per))
        else:
            _check_max_posts(self.max_posts)
        if not isinstance(self.points, int) or isinstance(self.points, bool) or not MIN_POINTS <= self.points <= MAX_POINTS:
            raise ConfigError(f"number of points must be from {MIN_POINTS} to {MAX_POINTS}, not {self.points!r}")
        object.__setattr__(self, "allow", frozenset(normal_entity(e) for e in self.allow if e.strip()))
        object.__setattr__(self, "terms", tuple(t for t in self.terms if t.strip()))

    def limit(self, platform: str) -> int:
        check_platform(platform)
        return self.limits[platform]

    def max_posts_for(self, platform: str) -> int:
        if isinstance(self.max_posts, Mapping):
            return self.max_posts.get(platform, DEFAULT_MAX_POSTS)
        return self.max_posts


def check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ConfigError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")


def _check_max_posts(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not MIN_POSTS <= value <= MAX_POSTS:
        raise ConfigError(f"maximum posts per thread must be from {MIN_POSTS} (hook and attribution) to {MAX_POSTS}, "
                          f"not {value!r}")
    return value
