"""What a run uses: the thread settings and platforms decided once from schedule.yaml and the
command line (:func:`resolve_settings`), per file (:meth:`Settings.plan`: a file inside one of
schedule.yaml's sources follows that source's platforms and auto_approve), and the platform
adapters as the operator configured them (:func:`configured_platform`).

``publisher ingest``, ``preview``, ``translate`` and the daemon all decide here, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from publisher.platforms import registry

if TYPE_CHECKING:
    from publisher.app import Pipeline
    from publisher.platforms.base import Platform
    from publisher.schedule.config import Schedule, Source
    from publisher.threads.options import ThreadOptions


ALL_PLATFORMS = registry.NAMES


@dataclass(frozen=True)
class IngestPlan:
    """What to make of one article file: a thread per platform, approved at once or not."""

    platforms: tuple[str, ...]
    auto_approve: bool
    source: Source | None = None
    """The schedule.yaml source the file lies in, if any."""


@dataclass(frozen=True)
class Settings:
    """How threads are built and queued, the same for ``preview``, ``ingest`` and the daemon.

    Made by :func:`resolve_settings`: schedule.yaml's thread settings with the explicit
    command-line options on top; :meth:`plan` adds, per file, what its source says.
    """

    options: ThreadOptions
    schedule: Schedule | None = None
    platforms: tuple[str, ...] = ()
    """Chosen on the command line (``--platform``); empty: decided per file by :meth:`plan`."""
    approve: bool | None = None
    """Chosen on the command line (``--approve`` / ``--no-approve``); None: decided per file."""
    images: str | None = None
    """Which images go with a thread: "none", "lead" or "points" (schedule.yaml's
    ``threads.images``, default "lead"); "off" for ``--no-images`` (text-only, with a warning)."""

    @property
    def hold_untranslated(self) -> bool:
        """Whether auto-approval waits for a person when Chinese is left in the English posts."""
        return self.schedule.threads.hold_untranslated if self.schedule is not None else True

    @property
    def image_mode(self) -> str:
        """The images asked for: ``images`` when set, else schedule.yaml's ``threads.images``, else "lead"."""
        return self.images or (self.schedule.threads.images if self.schedule is not None else "lead")

    def apply_to(self, pipeline: "Pipeline") -> None:
        """Make ``pipeline`` build and hold threads the way these settings say."""
        pipeline.use_options(self.options)
        pipeline.hold_untranslated = self.hold_untranslated
        if self.schedule is not None:
            pipeline.translation = self.schedule.translation_for
        pipeline.images = self.image_mode

    def plan(self, path: Path, source: Source | None = None) -> IngestPlan:
        """Platforms and approval for ``path``: explicit choices, else those of the schedule
        source holding it (``source`` when the caller already knows it), else the schedule's
        enabled platforms (all three without a schedule) as drafts."""
        found = self.schedule.source_for(path) if self.schedule is not None else None
        found = found or source
        if self.platforms:
            platforms = self.platforms
        elif found is not None:
            platforms = tuple(found.platforms)
        elif self.schedule is not None:
            platforms = tuple(n for n, p in self.schedule.platforms.items() if p.enabled) or ALL_PLATFORMS
        else:
            platforms = ALL_PLATFORMS
        approve = self.approve if self.approve is not None else bool(found and found.auto_approve)
        return IngestPlan(platforms, approve, found)


def thread_options(schedule: Schedule) -> ThreadOptions:
    """The ThreadOptions schedule.yaml asks for (limits, posts, points, allow-list); its schema checked
    the values against the same bounds (publisher.lengths) when it was loaded."""
    from publisher.threads.options import ThreadOptions

    limits = {n: p.max_characters for n, p in schedule.platforms.items() if p.max_characters}
    # Every platform gets a value: one not configured here still follows threads.max_posts.
    per_platform = {n: (schedule.platforms[n].max_posts if n in schedule.platforms else None)
                    or schedule.threads.max_posts for n in ALL_PLATFORMS}
    return ThreadOptions(limits=limits, max_posts=per_platform,
                         points=schedule.threads.points, allow=frozenset(schedule.threads.allow))


def resolve_settings(schedule: Schedule | None, *, platforms: Sequence[str] = (), approve: bool | None = None,
                     points: int | None = None, max_posts: int | None = None,
                     limits: dict[str, int] | None = None, allow: Iterable[str] = (),
                     templates: Path | None = None, images: str | None = None) -> Settings:
    """The one place thread settings are decided: the schedule's (or the defaults), then each
    explicit option replacing its counterpart (``limits`` per platform)."""
    from publisher.threads.options import ThreadOptions

    options = thread_options(schedule) if schedule is not None else ThreadOptions()
    changes: dict = {}
    if points is not None:
        changes["points"] = points
    if max_posts is not None:
        changes["max_posts"] = max_posts
    if limits:
        changes["limits"] = {**options.limits, **limits}
    allow = frozenset(allow)
    if allow:
        changes["allow"] = allow
    if templates is not None:
        changes["templates"] = templates
    if changes:
        options = replace(options, **changes)
    return Settings(options, schedule, tuple(dict.fromkeys(platforms)), approve, images)


def configured_platform(name: str, schedule: Schedule | None = None) -> Platform:
    """The adapter for ``name`` as the operator configured it: with the credential variable
    names that schedule.yaml gives for its posting account (when a schedule is found), else
    the default names. Every command that talks to a platform goes through here, so
    ``accounts check``, ``publish`` and the daemon always use the same credentials."""
    if schedule is None:
        from publisher.schedule.config import load_schedule_if_present

        schedule = load_schedule_if_present()
    found = schedule.account_for(name) if schedule is not None else None
    return registry.spec(name).load(dict(found[1].env) if found is not None else None)
