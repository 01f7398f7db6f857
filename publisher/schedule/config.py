"""schedule.yaml: the pydantic schema and the loader.

:func:`load_schedule` reads schedule.yaml with pydantic. Unknown keys, duplicate keys, bad values
and secrets written into the file are refused with one line per problem that names the file, the
LINE and the dotted key (``schedule.yaml:14: platforms.x.slots[0].times[1]: ...``). Credentials
are never in the file: an account names the *environment variables* that hold them.

The time arithmetic on a loaded schedule (slots, daylight saving, the quota window, misfires) is
:mod:`publisher.schedule.slots`; what a slot does with it is :mod:`publisher.schedule.rules`. The
model of each block of the file is in :mod:`publisher.schedule.sections`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from publisher.clock import parse_duration
from publisher.errors import ScheduleError
from publisher.platforms import registry
from publisher.schedule.slots import DAY, UTC, hm, load_zone  # noqa: F401  (UTC: many callers read it here)
from publisher.schedule.sections import (  # noqa: F401  (the sections stay importable from here)
    NOTIFY_EVENTS,
    PLATFORMS,
    Account,
    Costs,
    NotifySettings,
    PlatformConfig,
    QuietHours,
    SlotRule,
    Source,
    ThreadSettings,
    XPrices,
    _At,
    _Model,
    looks_like_secret,
)
from publisher.schedule.yaml_lines import dotted, duplicate_keys, keep_times_as_text, line_of
from publisher.translate.engines import TranslationConfig

#: Default daily quota per platform (posts per rolling 24 hours); None means no limit of ours.
#: Credential roles each platform needs, and the environment variable used when none is named,
#: and the optional ones. All from publisher.platforms.registry (kept here under their old names).
DEFAULT_DAILY_QUOTA: dict[str, int | None] = dict(registry.DEFAULT_DAILY_QUOTA)
CREDENTIAL_ROLES: dict[str, dict[str, str]] = {s.name: dict(s.credentials) for s in registry.SPECS.values()}
OPTIONAL_ROLES: dict[str, dict[str, str]] = {s.name: dict(s.optional) for s in registry.SPECS.values()}


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
