"""The retry policy: what a failed post leads to (see :mod:`publisher.platforms.base` for the classes).

:func:`decide` is pure: a classified failure of one post of a publication -> a :class:`Step`
(the publication's next state and columns, the account's change, the reason people read).
:meth:`publisher.queue.outbox.Outbox.apply` stores it; :func:`record_failure` does both in one
transaction, for the post in flight.

* RateLimited -> ``scheduled`` at the reset time; the account pauses until then.
* Transient -> ``failed`` with a backoff and next try (``needs_attention`` after
  :data:`MAX_ATTEMPTS`).
* OutcomeUnknown, or anything unexpected -> ``needs_attention`` naming the post.
* AuthFailed -> ``failed`` without a next try, and the account is stopped.
* Rejected -> ``needs_attention`` (a person edits or rejects it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from publisher.clock import aware, local_text, utcnow
from publisher.platforms.base import AuthFailed, OutcomeUnknown, RateLimited, Rejected, Transient
from publisher.queue.states import post_label

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import Publication

#: Transient failures before a publication is handed to a person.
MAX_ATTEMPTS = 6
#: How long to wait after a 429 that gave no reset time.
DEFAULT_RATE_LIMIT_WAIT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Step:
    """What follows a failed post: the publication's next state, and why."""

    state: str
    reason: str
    post_index: int
    """0-based index of the post that failed (named in the event)."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """Publication columns set with the move (attempts, next_try_at, scheduled_at, unknown_index)."""
    account: Mapping[str, Any] = field(default_factory=dict)
    """Account columns to set first (paused_until/pause_reason, or blocked_reason/blocked_at)."""


def backoff(attempts: int) -> dt.timedelta:
    """Wait before try ``attempts + 1``: 1, 2, 4, 8, 16 minutes... at most an hour."""
    return dt.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def decide(pub: "Publication", index: int, error: BaseException, now: dt.datetime) -> Step:
    """The step after post ``index`` of ``pub`` failed with ``error`` at ``now``."""
    label = post_label(index, pub.n_posts)
    where = f"{label} to {pub.platform}"
    if isinstance(error, RateLimited):
        reset = error.reset_at or (now + DEFAULT_RATE_LIMIT_WAIT)
        if reset <= now:
            reset = now + dt.timedelta(seconds=5)
        kind = "daily cap" if error.daily else "rate limit"
        why = f"{kind} reached before {label}: rescheduled for {local_text(reset)} ({error})"
        return Step("scheduled", why, index, fields={"scheduled_at": reset},
                    account={"paused_until": reset, "pause_reason": why})
    if isinstance(error, Transient):
        attempts = pub.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            return Step("needs_attention", f"gave up on {where} after {attempts} attempts: {error}", index,
                        fields={"attempts": attempts})
        wait = backoff(attempts)
        return Step("failed", f"{where} failed (attempt {attempts}), nothing was posted; next try in "
                              f"{_human(wait)}: {error}", index,
                    fields={"attempts": attempts, "next_try_at": now + wait})
    if isinstance(error, AuthFailed):
        why = (f"{pub.platform} rejected the credentials: posting to {pub.account} is stopped until "
               f"`publisher accounts check` succeeds ({error})")
        return Step("failed", f"{where} not sent: {why}", index, fields={"next_try_at": None},
                    account={"blocked_reason": why, "blocked_at": now})
    if isinstance(error, Rejected):
        return Step("needs_attention", f"{pub.platform} refused {label}: {error}; edit or reject it", index)
    what = str(error) if isinstance(error, OutcomeUnknown) else f"{type(error).__name__}: {error}"
    return Step("needs_attention",
                f"outcome of {where} unknown ({what}); `publisher resolve {pub.id} --check` "
                f"asks {pub.platform}, or look and run `publisher resolve {pub.id} --posted "
                "--post-id ID` or --not-posted", index, fields={"unknown_index": index})


def record_failure(outbox: "Outbox", publication_id: int, index: int, error: BaseException, *,
                   now: dt.datetime | None = None) -> "Publication":
    """Post ``index`` of ``publication_id`` (in flight, claimed by this outbox) failed with
    ``error``: decide the next step and store it, in one transaction."""
    now = aware(now or utcnow(), "now")
    with outbox.transaction():
        pub = outbox.in_flight(publication_id, index)
        return outbox.apply(publication_id, decide(pub, index, error, now), now=now)
