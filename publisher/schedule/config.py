"""schedule.yaml: the pydantic schema and the loader.

:func:`load_schedule` reads schedule.yaml with pydantic. Unknown keys, duplicate keys, bad values
and secrets written into the file are refused with one line per problem that names the file, the
LINE and the dotted key (``schedule.yaml:14: platforms.x.slots[0].times[1]: ...``). Credentials
are never in the file: an account names the *environment variables* that hold them.

The time arithmetic on a loaded schedule (slots, daylight saving, the quota window, misfires) is
:mod:`publisher.schedule.slots`; what a slot does with it is :mod:`publisher.schedule.rules`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from publisher.clock import parse_duration
from publisher.errors import ScheduleError
from publisher.lengths import (DEFAULT_MAX_POSTS, DEFAULT_POINTS, MAX_LIMIT, MAX_POINTS, MAX_POSTS, MIN_LIMIT, MIN_POINTS,
                               MIN_POSTS)
from publisher.platforms import registry
from publisher.text import is_address
from publisher.schedule.slots import (  # UTC: many tests read it here too
    DAY,
    UTC,
    days_text,
    hm,
    load_zone,
    parse_days,
    parse_time_of_day,
)
from publisher.schedule.yaml_lines import dotted, duplicate_keys, keep_times_as_text, line_of
from publisher.translate.engines import TranslationConfig


PLATFORMS = registry.NAMES
"""Platforms a schedule may name (the registry's)."""


#: Default daily quota per platform (posts per rolling 24 hours); None means no limit of ours.
#: Credential roles each platform needs, and the environment variable used when none is named,
#: and the optional ones. All from publisher.platforms.registry (kept here under their old names).
DEFAULT_DAILY_QUOTA: dict[str, int | None] = dict(registry.DEFAULT_DAILY_QUOTA)
CREDENTIAL_ROLES: dict[str, dict[str, str]] = {s.name: dict(s.credentials) for s in registry.SPECS.values()}
OPTIONAL_ROLES: dict[str, dict[str, str]] = {s.name: dict(s.optional) for s in registry.SPECS.values()}

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
    """How threads are cut (publisher.app.thread_options turns it into ThreadOptions). The bounds
    are publisher.lengths', shared with ThreadOptions."""

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


class Schedule(_Model):
    """A validated schedule.yaml."""

    timezone: str
    misfire: Literal["catch_up_one", "skip"] = "catch_up_one"
    misfire_grace: dt.timedelta = dt.timedelta(minutes=10)
    """A slot handled up to this late still counts as on time; later than that it was missed."""
    min_gap: dt.timedelta = dt.timedelta(0)
    """Minimum time between two threads on one account."""
    quiet_hours: QuietHours | None = None
    scan_every: dt.timedelta = dt.timedelta(minutes=1)
    """How often the daemon scans sources (and checks for missed slots and a changed schedule)."""
    sources: tuple[Source, ...] = ()
    platforms: dict[str, PlatformConfig] = Field(default_factory=dict)
    threads: ThreadSettings = Field(default_factory=ThreadSettings)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    """Which translation engine translates, and how (publisher.translate.engines)."""
    notify: NotifySettings | None = None
    costs: Costs = Field(default_factory=Costs)

    # Not read from the file: where it was read from (relative source paths start there).
    _file: Path | None = PrivateAttr(default=None)

    @field_validator("misfire_grace", "min_gap", "scan_every", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> dt.timedelta:
        return parse_duration(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @field_validator("scan_every")
    @classmethod
    def _scan_every(cls, value: dt.timedelta) -> dt.timedelta:
        if value < dt.timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value

    @field_validator("min_gap")
    @classmethod
    def _min_gap(cls, value: dt.timedelta) -> dt.timedelta:
        if value > DAY:
            raise ValueError("must be at most 24h")
        return value

    @field_validator("platforms", mode="before")
    @classmethod
    def _known_platforms(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in value:
                if name not in PLATFORMS:
                    raise ValueError(f"{name!r} is not a platform ({', '.join(PLATFORMS)})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Schedule":
        for name, platform in self.platforms.items():
            if platform.min_gap is not None and platform.min_gap > DAY:
                raise _At(("platforms", name, "min_gap"), "must be at most 24h")
            roles = CREDENTIAL_ROLES[name]
            for acc_name, account in platform.accounts.items():
                for role in account.env:
                    if role not in roles and role not in OPTIONAL_ROLES[name]:
                        known = ", ".join([*roles, *OPTIONAL_ROLES[name]])
                        raise _At(("platforms", name, "accounts", acc_name, "env", role),
                                  f"unknown credential for {name} (known: {known})")
            enabled = [a for a, acc in platform.accounts.items() if acc.enabled]
            if platform.enabled and len(enabled) > 1:
                raise _At(("platforms", name, "accounts"),
                          f"{len(enabled)} accounts are enabled ({', '.join(enabled)}); publisher posts "
                          "through one account per platform: disable all but one")
            if self.quiet_hours:
                for i, rule in enumerate(platform.slots):
                    for j, t in enumerate(rule.times):
                        if self.quiet_hours.contains(t):
                            raise _At(("platforms", name, "slots", i, "times", j),
                                      f"{hm(t)} falls in the quiet hours ({self.quiet_hours}); "
                                      "move the slot or the quiet hours")
        for i, source in enumerate(self.sources):
            for j, platform_name in enumerate(source.platforms):
                if platform_name not in self.platforms:
                    raise _At(("sources", i, "platforms", j),
                              f"platform {platform_name!r} is not configured under platforms:")
        return self

    # --- derived views ---

    @property
    def zone(self):
        return load_zone(self.timezone)

    @property
    def file(self) -> Path | None:
        """The schedule.yaml this was read from (None when built in code)."""
        return self._file

    def base_dir(self) -> Path:
        return self._file.parent if self._file else Path.cwd()

    def source_dir(self, source: Source) -> Path:
        """A source's folder; relative paths are relative to schedule.yaml's folder."""
        p = source.path.expanduser()
        return p if p.is_absolute() else self.base_dir() / p

    def source_for(self, path: Path | str) -> Source | None:
        """The source whose folder holds ``path`` (the innermost one when sources are nested)."""
        target = Path(path).expanduser().resolve()
        best: tuple[int, Source] | None = None
        for source in self.sources:
            folder = self.source_dir(source).resolve()
            if target == folder or folder in target.parents:
                depth = len(folder.parts)
                if best is None or depth > best[0]:
                    best = (depth, source)
        return best[1] if best else None

    def translation_for(self, path: Path | str) -> TranslationConfig:
        """The translation settings for a file: its source's ``translation:`` over the top-level one."""
        source = self.source_for(path)
        if source is not None and source.translation is not None:
            return source.translation.over(self.translation)
        return self.translation

    def account_for(self, platform: str) -> tuple[str, Account] | None:
        """The account a platform posts through (its one enabled account), or None."""
        config = self.platforms.get(platform)
        if config is None or not config.enabled:
            return None
        for name, account in config.accounts.items():
            if account.enabled:
                return name, account
        return None

    def quota_for(self, platform: str) -> int | None:
        found = self.account_for(platform)
        if found is None:
            return None
        quota = found[1].daily_quota
        return quota if quota is not None else DEFAULT_DAILY_QUOTA.get(platform)

    def gap_for(self, platform: str) -> dt.timedelta:
        config = self.platforms.get(platform)
        if config is not None and config.min_gap is not None:
            return config.min_gap
        return self.min_gap

    def credential_env(self, platform: str) -> dict[str, str]:
        """Role -> environment variable NAME for the platform's posting account (defaults filled in)."""
        found = self.account_for(platform)
        names = dict(CREDENTIAL_ROLES.get(platform, {}))
        if found is not None:
            names.update(found[1].env)
        return names

    def missing_credentials(self, platform: str, environ: dict[str, str] | None = None) -> list[str]:
        """Names of the required environment variables that are unset or empty (never values)."""
        import os

        from publisher.config import load_dotenv_once

        if environ is None:
            load_dotenv_once()
            environ = dict(os.environ)
        required = CREDENTIAL_ROLES.get(platform, {})
        names = self.credential_env(platform)
        return [names[role] for role in required if not environ.get(names[role], "").strip()]

    def active_platforms(self) -> list[str]:
        """Platforms that post: enabled, with an enabled account and at least one slot."""
        return [name for name, cfg in self.platforms.items()
                if cfg.enabled and cfg.slots and self.account_for(name) is not None]

    def is_quiet(self, instant: dt.datetime) -> bool:
        if self.quiet_hours is None:
            return False
        return self.quiet_hours.contains(instant.astimezone(self.zone).time())


# --- loading with line numbers ---------------------------------------------------------------


def load_schedule_if_present(path: Path | str | None = None) -> Schedule | None:
    """The schedule every command uses: ``path`` or $PUBLISHER_SCHEDULE (either must exist),
    else ./schedule.yaml when there is one, else None (built-in defaults). An invalid file is
    an error (ScheduleError), never ignored."""
    import os

    from publisher.config import schedule_path

    found = schedule_path(path)
    if path is not None or os.environ.get("PUBLISHER_SCHEDULE") or found.is_file():
        return load_schedule(found)
    return None


def load_schedule(path: Path | str) -> Schedule:
    """Read and validate schedule.yaml; raise :class:`ScheduleError` naming file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScheduleError([f"{path}: no such file (`publisher init` makes a workspace with a commented schedule.yaml)"]) from None
    except UnicodeDecodeError:
        raise ScheduleError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ScheduleError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse_schedule(text, path)


def parse_schedule(text: str, path: Path | str = "schedule.yaml") -> Schedule:
    """Validate schedule text (``path`` is used in messages and for relative source folders)."""
    import yaml

    path = Path(path)
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                raise ScheduleError([f"{path}: the file is empty; at least `timezone:` is required"])
            problems = duplicate_keys(node, path)
            if problems:
                raise ScheduleError(problems)
            keep_times_as_text(node)
            data = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark else ""
            raise ScheduleError([f"{path}{line}: invalid YAML: {exc.problem or exc.context}"]) from None
        except yaml.YAMLError as exc:
            raise ScheduleError([f"{path}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScheduleError([f"{path}:{node.start_mark.line + 1}: the file must be a mapping of keys "
                             "(timezone:, sources:, platforms: ...)"])
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as exc:
        raise ScheduleError(_problems(exc, node, path)) from None
    schedule._file = path
    return schedule


def _problems(exc: ValidationError, root, path: Path) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        message = error["msg"]
        ctx = error.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, _At):
            loc = loc + cause.loc
            message = str(cause)
        elif isinstance(cause, ValueError):
            message = str(cause)
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        kind = error["type"]
        line = line_of(root, loc, key_line=kind == "extra_forbidden")
        if kind == "extra_forbidden":
            known = _known_keys(loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else
                                       f" (known: {', '.join(known)})" if known else "")
        elif kind == "missing":
            message = "required key is missing"
        problems.append(f"{path}:{line}: {dotted(loc) or '(top level)'}: {message}")
    return problems


def _known_keys(loc: tuple) -> list[str]:
    """Field names of the model found at ``loc`` (for "did you mean" hints)."""
    import typing

    model: Any = Schedule
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is not None:
            if part not in fields:
                return []
            model = fields[part].annotation
        else:
            args = [a for a in typing.get_args(model) if a is not type(None)]
            if not args:
                return []
            model = args[-1]  # dict[str, X] -> X; tuple[X, ...] -> X (ellipsis skipped below)
            if model is Ellipsis:
                model = args[0]
        while typing.get_origin(model) is typing.Union or type(model).__name__ == "UnionType":
            model = next(a for a in typing.get_args(model) if a is not type(None))
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []
