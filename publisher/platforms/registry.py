"""Every network publisher posts to, one :class:`PlatformSpec` each: the one place for platform facts.

A spec says what the rest of the code used to spell out again and again: the network's name, the
credential roles it needs and the environment variable each one is read from by default (and
the optional ones), whether schedule.yaml may name other variables for them, the post limit and
daily quota used when nothing else is configured, how a person writes a link to one of its posts
(``publisher resolve --post-id``), and where its adapter lives. The adapter module is imported
only by :meth:`PlatformSpec.load`, so importing this module costs nothing (``publisher --help``
reads the platform list from here).

Reading schedule.yaml is not done here: :func:`publisher.settings.configured_platform` finds the
posting account's variable names and passes them to :meth:`PlatformSpec.load`.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from publisher.errors import ConfigError

if TYPE_CHECKING:
    from publisher.platforms.base import Platform, PostRef


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class PlatformSpec:
    """What publisher knows about one network, before any adapter is loaded."""

    name: str
    """"x", "mastodon" or "bluesky": the name in schedule.yaml, the queue and the CLI."""
    title: str
    """The network's name in a sentence: "X", "Mastodon", "Bluesky"."""
    adapter: str
    """"module:Class" of the adapter; the class has ``from_env()`` (the default variable names)."""
    credentials: Mapping[str, str] = field(default_factory=dict)
    """Required credential role -> the environment variable read when schedule.yaml names none."""
    optional: Mapping[str, str] = field(default_factory=dict)
    """Optional roles -> their default variable."""
    custom_names: bool = False
    """Whether an account may name other variables for its roles (the adapter is then built from
    the values, with the roles as keyword arguments)."""
    default_limit: int = 280
    """Post length limit used when nothing is configured (the server may say otherwise)."""
    daily_quota: int | None = None
    """Posts per rolling 24 hours when schedule.yaml sets none; None: no limit of ours."""
    alt_text_limit: int = 1000
    """Characters an image's alt text may have."""
    post_id: Callable[[str], str | None] | None = None
    """A post id from what a person pasted (an id or a link); None for "take it as it is"."""
    post_link: Callable[[str], str] | None = None
    """The public link of a post id, when the id alone makes one."""
    post_author: Callable[[str], str | None] | None = None
    """The account a pasted post link names (a handle or a DID), None when it names none: so that
    a post of someone else's thread never becomes the parent of the rest of ours."""

    @property
    def roles(self) -> Mapping[str, str]:
        """Every role, required then optional, with its default variable."""
        return {**self.credentials, **self.optional}

    def parse_post_ref(self, value: str) -> PostRef | None:
        """The post a person named (``publisher resolve --post-id``): an id or a link to the post.

        None when this network's ids have a shape and ``value`` is not one (an X id is digits or
        an x.com/twitter.com status link); otherwise the value is the id, and a link is also kept
        as the post's URL.
        """
        from publisher.platforms.base import PostRef

        value = value.strip()
        if self.post_id is not None:
            parsed = self.post_id(value)
            if parsed is None:
                return None
            return PostRef(id=parsed, url=self.post_link(parsed) if self.post_link else None)
        return PostRef(id=value, url=value if value.startswith(("http://", "https://")) else None)

    def load(self, env: Mapping[str, str] | None = None) -> Platform:
        """The adapter, with credentials read from the variables ``env`` names (role -> variable
        NAME, as schedule.yaml's ``accounts.<name>.env``); the default names for the roles it
        does not name. ConfigError names missing variables (names only, never values)."""
        from publisher.config import env_secret

        env = dict(env or {})
        defaults = self.roles
        custom = {role: var for role, var in env.items() if defaults.get(role) != var}
        if not custom:
            return self._adapter().from_env()
        if not self.custom_names:
            raise ConfigError(f"{self.name}: custom environment variable names are not supported for this "
                              f"platform yet; use {', '.join(defaults.values())}")
        values = {role: env_secret(env.get(role, default)) for role, default in self.credentials.items()}
        missing = [env.get(role, self.credentials[role]) for role, value in values.items() if not value]
        if missing:
            raise ConfigError(f"{self.name} is not configured: set {', '.join(missing)} in the environment or .env")
        platform = self._adapter()(**values)
        platform.env_names = tuple(env.get(role, default) for role, default in self.credentials.items())
        return platform

    def _adapter(self) -> Any:
        module_name, attr = self.adapter.split(":")
        return getattr(importlib.import_module(module_name), attr)


# --- X post links --------------------------------------------------------------------------

_X_STATUS = re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/(?:[^/]+|i(?:/web)?)/status(?:es)?/(\d+)")


def x_post_id(value: str) -> str | None:
    """A tweet id from an id or a post link (x.com or twitter.com); None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return value
    match = _X_STATUS.match(value)
    return match.group(1) if match else None


def x_post_url(post_id: str) -> str:
    """The public link of a tweet, from its id alone."""
    return f"https://x.com/i/status/{post_id}"


_X_AUTHOR = re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/([^/]+)/status")


def x_post_author(value: str) -> str | None:
    """The user name in an X post link (x.com/NAME/status/ID), None for a bare id or an i/ link."""
    match = _X_AUTHOR.match(value.strip())
    if not match or match.group(1).lower() in ("i", "web"):
        return None
    return match.group(1)


def bluesky_post_author(value: str) -> str | None:
    """The DID of an at:// post URI, or the handle of a bsky.app/profile/NAME/post/… link."""
    value = value.strip()
    if value.startswith("at://"):
        return value[len("at://"):].split("/", 1)[0]
    if value.startswith(("http://", "https://")) and "/profile/" in value:
        return value.split("/profile/", 1)[1].split("/", 1)[0]
    return None


# --- the networks --------------------------------------------------------------------------

X = PlatformSpec(
    name="x", title="X", adapter="publisher.platforms.x:XPlatform",
    credentials=_frozen({"api_key": "X_API_KEY", "api_secret": "X_API_SECRET",
                         "access_token": "X_ACCESS_TOKEN", "access_token_secret": "X_ACCESS_TOKEN_SECRET"}),
    custom_names=True, default_limit=280, alt_text_limit=1000,
    daily_quota=17,  # the free tier's 17 posts per 24 hours
    post_id=x_post_id, post_link=x_post_url, post_author=x_post_author,
)
MASTODON = PlatformSpec(
    name="mastodon", title="Mastodon", adapter="publisher.platforms.mastodon:MastodonPlatform",
    credentials=_frozen({"instance": "MASTODON_API_BASE_URL", "access_token": "MASTODON_ACCESS_TOKEN"}),
    default_limit=500,  # an instance may allow more; the adapter asks it
    alt_text_limit=1500,  # the instance's description_limit
)
BLUESKY = PlatformSpec(
    name="bluesky", title="Bluesky", adapter="publisher.platforms.bluesky:BlueskyPlatform",
    credentials=_frozen({"handle": "BLUESKY_HANDLE", "app_password": "BLUESKY_APP_PASSWORD"}),
    optional=_frozen({"service": "BLUESKY_SERVICE"}),
    default_limit=300, alt_text_limit=2000, post_author=bluesky_post_author,
)
# Mastodon and Bluesky have hourly rate limits that the adapters handle; a daily quota can still
# be set for them in schedule.yaml.

SPECS: Mapping[str, PlatformSpec] = MappingProxyType({s.name: s for s in (X, MASTODON, BLUESKY)})
"""Every network, by name, in the order the CLI and the previews list them."""
NAMES: tuple[str, ...] = tuple(SPECS)
"""("x", "mastodon", "bluesky")."""
DEFAULT_LIMITS: Mapping[str, int] = MappingProxyType({s.name: s.default_limit for s in SPECS.values()})
DEFAULT_DAILY_QUOTA: Mapping[str, int | None] = MappingProxyType({s.name: s.daily_quota for s in SPECS.values()})


def spec(name: str) -> PlatformSpec:
    """The spec of ``name``; ConfigError for a network publisher does not know."""
    try:
        return SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown platform {name!r}; known: {', '.join(sorted(SPECS))}") from None
