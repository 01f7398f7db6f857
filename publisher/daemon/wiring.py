"""The daemon on the real parts: the queue (:class:`OutboxStore`), the platforms, the ingest
pipeline, the lock and the monitor, put together by :func:`build_daemon`.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from publisher.clock import Clock, ShiftedClock, SystemClock
from publisher.daemon.daemon import Daemon
from publisher.daemon.records import IngestFn, IngestResult, PostingAccount, PublishOutcome
from publisher.daemon.runtime import NOW_GRACE, DaemonLock, check_now
from publisher.daemon.sources import ScheduleWatcher, SourceScanner
from publisher.errors import PublisherError
from publisher.queue.ledger import SlotLedger, latest_recorded
from publisher.schedule.config import Source
from publisher.schedule.slots import UTC, local_time
from publisher.schedule.store import OutboxScheduleStore, QueuedThread, ScheduleStore

log = logging.getLogger("publisher.daemon")


class _Stopped(Exception):
    """Raised between two posts when the daemon is asked to stop."""


class OutboxStore(OutboxScheduleStore):
    """:class:`publisher.queue.outbox.Outbox` as a :class:`ScheduleStore`
    (:class:`~publisher.schedule.store.OutboxScheduleStore`), plus the publish step."""

    def __init__(self, outbox, *, clock: Clock | None = None,
                 make_platform: Callable[[PostingAccount], object] | None = None,
                 environ: dict[str, str] | None = None):
        super().__init__(outbox)
        self.clock = clock or SystemClock()
        self.make_platform = make_platform or platform_for
        self.environ = environ

    # -- publishing --

    def publish(self, item: QueuedThread, account: PostingAccount, should_stop: Callable[[], bool]) -> PublishOutcome:
        """Post the rest of a claimed publication; stop between posts when asked."""
        from publisher.publishing.publish import publish_publication

        try:
            platform = self.make_platform(account)
        except Exception as exc:  # nothing was sent: give the thread back, whatever went wrong
            self.release(item.publication_id, self.clock.now(), f"not started: {exc}")
            if not isinstance(exc, PublisherError):
                raise
            return PublishOutcome("error", 0, str(exc))
        n_total = item.posted + item.posts
        sent = 0

        def on_post(post, ref) -> None:
            nonlocal sent
            sent += 1
            log.info("%s: posted %d/%d of %s as %s", item.platform, post.index + 1, n_total, item.ids(), ref.id)
            if should_stop() and post.index + 1 < n_total:
                raise _Stopped()

        try:
            result = publish_publication(self.outbox, item.publication_id, platform, clock=self.clock.now,  # type: ignore[arg-type]
                                         on_post=on_post)
        except _Stopped:
            self.release(item.publication_id, self.clock.now(),
                         f"publisher run stopped after post {item.posted + sent}; the rest goes out at the next start")
            return PublishOutcome("approved", sent, f"stopped after {sent} posts; resumes at the next start")
        pub = result.publication
        detail = "" if pub.state == "posted" else (pub.note or "")
        return PublishOutcome(pub.state, len(result.sent), detail)


def platform_for(account: PostingAccount):
    """The platform adapter for ``account``, with credentials read from the variables it names."""
    from publisher.platforms.registry import spec

    return spec(account.platform).load(account.env)


def default_ingest(outbox, *, translator=None, settings=None) -> IngestFn:
    """read -> translate -> summarise and render -> store, for files found in the sources.

    Goes through :class:`publisher.app.Pipeline`: the model for the article's script is
    loaded once, on first use; with no model installed a Chinese article is NOT ingested
    (ModelError: the daemon says so once and tries again at the next scan, so installing the
    model is enough); an article that is not Chinese is refused (InputError). ``translator``
    (tests) replaces the model. ``settings`` is a :class:`publisher.settings.Settings` or a
    function returning the current one (the daemon passes the live schedule's, so an edited
    schedule.yaml applies to the next article); its :meth:`~publisher.settings.Settings.plan`
    decides platforms and approval exactly as ``publisher ingest`` does for the same file.
    """
    from publisher.app import Pipeline, ingest_file
    from publisher.settings import resolve_settings

    pipeline = Pipeline(translator=translator, cache=True)

    def ingest(path: Path, source: Source, now: dt.datetime) -> IngestResult:
        current = settings() if callable(settings) else settings
        if current is None:
            current = resolve_settings(None)
        current.apply_to(pipeline)
        plan = current.plan(path, source)
        ingested = ingest_file(path, outbox, pipeline, plan.platforms, auto_approve=plan.auto_approve, now=now,
                               base_url=plan.source.base_url if plan.source else None)
        return ingested_result(ingested, tuple(outbox.get(p).thread_id for p in ingested.publications))

    return ingest


def ingested_result(ingested, thread_ids: tuple[int, ...] = ()) -> IngestResult:
    """An :class:`publisher.queue.records.Ingested` as the daemon logs it."""
    if ingested.unchanged:
        status = "unchanged"
    else:
        status = "new" if ingested.revision == 1 else f"revision {ingested.revision}"
    detail = []
    if ingested.superseded:
        detail.append("withdrew " + ",".join(map(str, ingested.superseded)))
    if ingested.held:
        detail.append("not auto-approved, waits for a person: " + "; ".join(ingested.held))
    if ingested.earlier_posted:
        detail.append("an earlier revision was already posted (" + ",".join(map(str, ingested.earlier_posted))
                      + "): this one waits for a person, and goes out as a reply to that thread")
    return IngestResult(status, ingested.article_id, tuple(ingested.publications), tuple(ingested.approved),
                        "; ".join(detail), thread_ids)


@contextmanager
def open_store(db: Path | None = None) -> Iterator[ScheduleStore]:
    """The queue database as a :class:`ScheduleStore` (reading needs no lock)."""
    from publisher.queue.outbox import Outbox

    outbox = Outbox.open(db)
    try:
        yield OutboxStore(outbox)
    finally:
        outbox.close()


@contextmanager
def build_daemon(schedule_path: Path, *, clock: Clock | None = None, db: Path | None = None,
                 settle: float = 2.0, ingest: IngestFn | None = None,
                 make_platform: Callable[[PostingAccount], object] | None = None,
                 now: dt.datetime | None = None, mode: str = "daemon") -> Iterator[Daemon]:
    """A Daemon on the real database, holding the lock for as long as the block runs.

    ``now`` (``--now``) starts the daemon's clock at that instant, after :func:`check_now`
    accepted it for this database (under the lock, so no other run records meanwhile).
    """
    from publisher.config import Paths
    from publisher.queue.outbox import Outbox
    from publisher.settings import resolve_settings

    from publisher.queue.database import is_postgres, target

    db = target(db or Paths.from_env().db)
    watcher = ScheduleWatcher(schedule_path)
    if is_postgres(db):
        from publisher.queue.pgstore import AdvisoryDaemonLock as lock  # one run per database, across hosts
    else:
        lock = DaemonLock  # type: ignore[assignment]
    with lock(db):  # type: ignore[arg-type]
        outbox = Outbox.open(db)
        try:
            real_now = dt.datetime.now(UTC)
            latest = latest_recorded(outbox.db)
            if now is not None and clock is None:
                check_now(now, real_now, latest, watcher.schedule.zone)
                clock = ShiftedClock(now)
            elif latest is not None and latest > real_now + NOW_GRACE and clock is None:
                log.warning("the clock looks wrong: this database recorded times up to %s, later than the clock "
                            "(%s); slots recorded in the future are not counted as handled. Once the clock is "
                            "right, run `publisher db repair-clock`", local_time(latest, watcher.schedule),
                            local_time(real_now, watcher.schedule))
            clock = clock or SystemClock()
            store = OutboxStore(outbox, clock=clock, make_platform=make_platform)
            from publisher.cockpit.monitor import Monitor
            from publisher.queue.db import DatabaseWatch

            monitor = Monitor(outbox, schedule=lambda: watcher.schedule, schedule_file=str(Path(schedule_path).resolve()),
                              clock=clock.now, mode=mode, schedule_problems=lambda: watcher.problems)
            daemon = Daemon(watcher=watcher, store=store, publish=store.publish,
                            ingest=ingest or default_ingest(outbox, settings=lambda: resolve_settings(watcher.schedule)),
                            ledger=SlotLedger(db), clock=clock,
                            scanner=SourceScanner(settle), monitor=monitor)
            if not is_postgres(db):  # a server's database is not a file (its loss is a connection error)
                daemon.watch = DatabaseWatch(db)  # stops the daemon loudly when the database is deleted
            yield daemon
        finally:
            outbox.close()
