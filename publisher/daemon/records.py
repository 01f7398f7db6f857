"""What the daemon's steps take and give back, and how they are logged.

:class:`PostingAccount` (which account a platform posts through) goes into the publish step
(:data:`PublishFn`), :class:`PublishOutcome` comes back; the ingest step (:data:`IngestFn`) gives
an :class:`IngestResult` per file; a slot ends as a :class:`SlotOutcome` (one ledger row, one log
line) and ``publisher run --once`` reports them all in a :class:`OnceReport`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from publisher.schedule.slots import Slot
from publisher.schedule.store import QueuedThread

if TYPE_CHECKING:
    from publisher.schedule.config import Source

log = logging.getLogger("publisher.daemon")


@dataclass(frozen=True)
class PostingAccount:
    """Which account a platform posts through, and the NAMES of its credential variables."""

    platform: str
    name: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishOutcome:
    state: str
    """The publication's state afterwards: posted, failed, needs_attention, scheduled (rate
    limited), approved (stopped between posts: resumes at the next start), or error."""
    posts_sent: int = 0
    detail: str = ""


@dataclass(frozen=True)
class IngestResult:
    """What ingesting one file did (the outbox's answer, reduced to what is logged)."""

    status: str
    """new, revised, unchanged, skipped (not Chinese) or failed."""
    article_id: int | None = None
    publication_ids: tuple[int, ...] = ()
    approved: tuple[int, ...] = ()
    detail: str = ""
    thread_ids: tuple[int, ...] = ()
    """Parallel to ``publication_ids``."""


PublishFn = Callable[[QueuedThread, PostingAccount, Callable[[], bool]], PublishOutcome]
"""Publish (the rest of) one CLAIMED publication; the callable says when to stop between posts."""


IngestFn = Callable[[Path, "Source", dt.datetime], IngestResult]
"""Ingest one article file found in a source (drafts, or approved when the source says so)."""


@dataclass(frozen=True)
class SlotOutcome:
    """What happened in one slot (also one ledger row and one log line)."""

    platform: str
    slot: Slot | None
    """None for an interrupted thread that was resumed outside any slot."""
    outcome: str
    """posted, failed, needs_attention, scheduled (rate-limited), approved (stopped midway),
    idle (nothing approved), quota, min_gap, quiet, credentials, account (blocked or paused),
    disabled, missed, error."""
    publication: QueuedThread | None = None
    detail: str = ""
    late: bool = False


@dataclass(frozen=True)
class OnceReport:
    continued: tuple[SlotOutcome, ...]
    ingested: tuple[IngestResult, ...]
    slots: tuple[SlotOutcome, ...]


def log_ingest(path: Path, result: IngestResult) -> None:
    """The log line for one ingested (or refused) file."""
    pubs = ",".join(f"{p} (thread {t})" if t is not None else str(p) for p, t in
                    zip(result.publication_ids, result.thread_ids or [None] * len(result.publication_ids))) or "-"
    if result.status == "failed":
        log.error("ingest %s", about(path, result.detail))
    elif result.status == "skipped":
        log.info("ingest %s (skipped)", about(path, result.detail))
    elif result.status == "unchanged" and not result.publication_ids:
        log.debug("ingest %s: unchanged (article %s)", path, result.article_id)
    else:
        approved = ",".join(str(t) for t in result.approved)
        log.info("ingest %s: %s article %s publications %s%s%s", path, result.status, result.article_id, pubs,
                 f", approved {approved}" if approved else ", waiting for approval",
                 f" ({result.detail})" if result.detail else "")


def log_result(platform: str, what: str, item: QueuedThread, result: PublishOutcome) -> None:
    """The log line for a publish step's outcome."""
    log.log(logging.INFO if result.state == "posted" else logging.WARNING, "%s: %s %s: %s, %d posts sent%s",
            platform, what, item.ids(), result.state, result.posts_sent,
            f"; {result.detail}" if result.detail else "")


def about(path: Path, detail: str) -> str:
    """``path: detail`` for a log line, without repeating the path when the detail starts with it
    (InputError messages name their file, often with a line: ``/x/a.md:4: ...``)."""
    return detail if detail.startswith(str(path)) else f"{path}: {detail}"


def scrub(text: str, account: PostingAccount, environ: dict[str, str] | None) -> str:
    """Remove any credential value of ``account`` that found its way into a message."""
    env = environ if environ is not None else os.environ
    for name in account.env.values():
        value = env.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
