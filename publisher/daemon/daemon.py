"""`publisher run`: watch the sources, and post approved threads in the schedule's slots.

The database is the source of truth; APScheduler is only the clock that wakes us up.

* An interval job (every ``scan_every``) reloads schedule.yaml when it changed, scans the
  sources for new or changed article files and ingests them, and checks for slots that came
  due (missed ones included).
* One job per configured slot time fires at that slot (the trigger uses this module's own slot
  arithmetic, so the daylight-saving rules of :mod:`publisher.schedule` hold) and runs
  :meth:`Daemon.tick`.

What a tick does for a platform is decided from the database alone: the **slot ledger** (table
``schedule_slots``, one row per slot handled, written BEFORE anything is claimed) says which
slots were already handled, so a slot is used at most once however many times a tick runs, by
the daemon, by ``--once`` from cron, or after a restart. Missed slots follow ``misfire``:
catch up one, or skip; never a burst.

Safety:

* A lock (an exclusive ``fcntl`` lock on ``<database>.lock``) keeps two runs on one database
  from both posting; ``--once`` takes it too.
* SIGTERM/SIGINT stop cleanly: no new work starts, a thread being posted stops after the post
  in flight (the publisher is asked through ``should_stop``), and what is left is in a state the
  next start resolves (the outbox resumes a partly posted thread at its first unposted post).

The outbox and the ingest pipeline are reached through small interfaces
(:class:`publisher.schedule.store.ScheduleStore`, :data:`publisher.daemon.records.PublishFn`,
:data:`~publisher.daemon.records.IngestFn`), so tests pass fakes (:mod:`publisher.testing`) and the
real adapters are put together by :func:`publisher.daemon.wiring.build_daemon`. The rest of the
package: ``sources`` (schedule.yaml and the source folders), ``runtime`` (the lock, ``--now``,
APScheduler, signals, logging), ``records`` (what the steps report) and the slot rules in
:mod:`publisher.schedule.rules`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Iterable

from publisher.clock import Clock, SystemClock
from publisher.daemon.records import (
    IngestFn,
    IngestResult,
    OnceReport,
    PostingAccount,
    PublishFn,
    PublishOutcome,
    SlotOutcome,
    about,
    log_ingest,
    log_result,
    scrub,
)
from publisher.daemon.runtime import serve
from publisher.daemon.sources import ScheduleWatcher, SourceScanner
from publisher.errors import ConfigError, ModelError, PublisherError
from publisher.queue.ledger import ReportedFiles, SlotLedger
from publisher.schedule.config import Schedule
from publisher.schedule.rules import decide, min_known, schedule_problems
from publisher.clock import short_duration
from publisher.schedule.slots import (
    DAY,
    DuePlan,
    Slot,
    local_time,
    plan_due,
    remaining_quota,
    slots_between,
)
from publisher.schedule.store import OutboxScheduleStore, QueuedThread, ScheduleStore

log = logging.getLogger("publisher.daemon")

#: How far back a tick looks for missed slots when the ledger is older than that (or empty).
MAX_LOOKBACK = dt.timedelta(days=7)


class Daemon:
    """The scheduler's decisions, independent of APScheduler: :meth:`tick` and :meth:`scan`."""

    def __init__(self, *, watcher: ScheduleWatcher, store: ScheduleStore, publish: PublishFn,
                 ingest: IngestFn | None, ledger: SlotLedger, clock: Clock | None = None,
                 scanner: SourceScanner | None = None, environ: dict[str, str] | None = None,
                 reported: ReportedFiles | None = None, monitor=None):
        self.watcher = watcher
        self.monitor = monitor
        """A :class:`publisher.cockpit.monitor.Monitor` (heartbeat, systemd, alerts), or None."""
        self.store = store
        self.publish = publish
        self.ingest = ingest
        self.ledger = ledger
        self.watch = None  # a storage.DatabaseWatch: the daemon stops when the database is deleted
        self.fatal: str | None = None  # why the daemon stopped on its own
        self.clock = clock or SystemClock()
        self.scanner = scanner or SourceScanner()
        self.environ = environ
        self._reported = reported
        self.stopping = threading.Event()
        self._noted: set[tuple] = set()
        # One piece of work at a time (re-entrant: a long scan handles slots between files).
        self._work = threading.RLock()

    @property
    def schedule(self) -> Schedule:
        return self.watcher.schedule

    @property
    def reported(self) -> ReportedFiles:
        """Bad files already reported, kept in the ledger's database (made on first use)."""
        if self._reported is None:
            self._reported = ReportedFiles(self.ledger.db)
        return self._reported

    def announce(self) -> list[str]:
        """Log what in the schedule silently does nothing (at start and after each reload)."""
        problems = schedule_problems(self.schedule, self.store, self.clock.now())
        for line in problems:
            log.warning("%s", line)
        return problems

    # --- sources ---

    def scan(self) -> list[IngestResult]:
        """Ingest new or changed files from every source; one bad file never stops the others.

        Feeds and pages of the sources whose poll time came are fetched first (publisher.feeds);
        the files they write are ingested by the next scan, once settled like any other file."""
        if any(s.feed or s.pages for s in self.schedule.sources):
            from publisher.feeds.poll import poll_sources

            with self._work:
                poll_sources(self.schedule, self.ledger.db, self.clock.now(), between=self.tick,
                             should_stop=self.stopping.is_set)
        if self.ingest is None:
            return []
        from publisher.translate.isolate import is_crash_message

        results: list[IngestResult] = []
        with self._work:
            for path, source in self.scanner.changed(self.schedule):
                if self.stopping.is_set():
                    break
                if is_crash_message(self.reported.message(path) or ""):
                    self.scanner.done(path)
                    log.debug("ingest %s: crashed the translation worker before; skipped until it changes", path)
                    continue
                try:
                    result = self.ingest(path, source, self.clock.now())
                except (ModelError, ConfigError) as exc:
                    # Not the file's fault (no model, a setting): say it once, retry next scan.
                    self._note_once(("ingest", str(exc)), f"ingest {about(path, str(exc))} (will try again)")
                    results.append(IngestResult("failed", detail=str(exc)))
                    continue
                except PublisherError as exc:
                    from publisher.errors import NotChinese

                    # not Chinese: skipped, the verdict `publisher ingest` and `translate` give
                    result = IngestResult("skipped" if isinstance(exc, NotChinese) else "failed", detail=str(exc))
                except Exception as exc:  # a bug; report it and go on with the other files
                    if os.environ.get("PUBLISHER_DEBUG"):
                        log.exception("ingest %s: internal error (traceback follows)", path)
                    result = IngestResult("failed", detail=f"internal error {type(exc).__name__}: {exc}")
                self.scanner.done(path)
                results.append(result)
                if result.status not in ("failed", "skipped"):
                    self.reported.forget(path)
                    log_ingest(path, result)
                elif self.reported.first_report(path, result.detail, self.clock.now()):
                    log_ingest(path, result)
                else:  # this version of the file was reported by an earlier run (cron's --once)
                    log.debug("ingest %s (still failing, already reported)", about(path, result.detail))
                self.tick()  # a long scan (translating many files) must not make a slot late
            self._beat(scanned=True)
        return results

    # --- slots ---

    def continue_due(self) -> list[SlotOutcome]:
        """Settle what a dead process left, then do the work due outside the slots.

        Partly posted threads are finished, retries run when their time comes, and a thread
        approved for an explicit time goes out at that time; all within the quota (the whole
        rest of the thread must fit), none of it using up a slot. What has nothing out yet
        waits for the end of the quiet hours; a thread already partly out is finished.
        """
        outcomes: list[SlotOutcome] = []
        with self._work:
            now = self.clock.now()
            for line in self.store.recover(now):
                log.warning("recovered: %s", line)
            schedule = self.schedule
            for platform in schedule.platforms:
                if self.stopping.is_set():
                    break
                items = list(self.store.continuing(platform, now))
                if not items:
                    continue
                account = self._account(platform)
                if account is None:
                    self._note_once(("disabled", platform), f"{platform}: {len(items)} publications are due but the "
                                    "platform has no enabled account in the schedule")
                    continue
                missing = schedule.missing_credentials(platform, self.environ)
                if missing:
                    self._note_once(("credentials", platform), f"{platform}: {len(items)} publications are due; "
                                    f"missing environment variable {', '.join(missing)}")
                    continue
                for item in items:
                    if self.stopping.is_set():
                        break
                    now = self.clock.now()
                    if not item.posted and schedule.is_quiet(now):
                        # Nothing of it is out yet: it can wait for the end of the quiet hours.
                        self._note_once(("quiet", item.publication_id), f"{platform}: {item.ids()} is due; waits "
                                        f"for the end of the quiet hours ({schedule.quiet_hours})", logging.INFO)
                        continue
                    recent = list(self.store.post_times(platform, now - DAY))
                    left = min_known(remaining_quota(schedule.quota_for(platform), recent, now),
                                self.store.platform_remaining(platform, now))
                    if left is not None and item.posts > left:
                        self._note_once(("quota", item.publication_id, left),
                                        f"{platform}: {item.ids()} waits for quota: {item.posts} posts to send, "
                                        f"{left} left", logging.WARNING)
                        continue
                    from publisher.schedule.budget import gate as budget_gate

                    gate = budget_gate(schedule, platform, self.store, now)
                    if gate is not None and not gate.fits(item, now):
                        self._note_once(("budget", item.publication_id), f"{platform}: {item.ids()} waits for "
                                        f"budget: {gate.detail(item, now)}", logging.WARNING)
                        continue
                    what = "resuming" if item.posted else "retrying" if item.state == "failed" else "publishing"
                    if not self._claim(platform, item.publication_id, now, f"{what} ({item.state}) by publisher run",
                                       schedule):
                        continue
                    log.info("%s: %s %s (%s, %d posts to send)", platform, what, item.ids(), item.state, item.posts)
                    result = self._publish(item, account)
                    log_result(platform, "continued", item, result)
                    outcomes.append(SlotOutcome(platform, None, result.state, item, result.detail))
        return outcomes

    def _claim(self, platform: str, publication_id: int, now: dt.datetime, reason: str, schedule) -> bool:
        """The store's claim. The real outbox re-checks the 24-hour quota inside the claim's
        transaction: with the queue on a server, another host may have spent it meanwhile."""
        if isinstance(self.store, OutboxScheduleStore):
            return self.store.claim(publication_id, now, reason, quota=schedule.quota_for(platform))
        return self.store.claim(publication_id, now, reason)

    def _note_once(self, key: tuple, message: str, level: int = logging.ERROR) -> None:
        """Log a standing condition once, not at every tick."""
        if key not in self._noted:
            self._noted.add(key)
            log.log(level, message)

    def _beat(self, scanned: bool = False) -> None:
        if self.monitor is not None:
            self.monitor.beat(scanned=scanned)

    def tick(self, platforms: Iterable[str] | None = None) -> list[SlotOutcome]:
        """Handle every slot that is due now (misfire policy applied), for all or some platforms."""
        outcomes: list[SlotOutcome] = []
        with self._work:
            schedule = self.schedule
            names = list(platforms) if platforms is not None else schedule.active_platforms()
            for platform in names:
                if self.stopping.is_set():
                    break
                if platform not in schedule.active_platforms():
                    continue
                now = self.clock.now()
                last = self.ledger.last(platform, now)
                start = max(last, now - MAX_LOOKBACK) if last else now - schedule.misfire_grace
                due = slots_between(schedule, start, now, platforms=[platform])
                plan = plan_due(due, now, policy=schedule.misfire, grace=schedule.misfire_grace)
                outcomes.extend(self._carry_out(platform, plan, now))
            self._beat()  # after the slots: the monitor's look at the queue never makes a slot late
        return outcomes

    def _carry_out(self, platform: str, plan: DuePlan, now: dt.datetime) -> list[SlotOutcome]:
        schedule = self.schedule
        outcomes: list[SlotOutcome] = []
        if plan.run is not None and plan.late and schedule.is_quiet(now):
            # A catch-up waits for the end of the quiet hours (unless a newer slot comes first).
            self._note_once(("catch-up", platform, plan.run.at),
                            f"{platform}: slot {local_time(plan.run.at, schedule)} was missed; catching up after the "
                            f"quiet hours ({schedule.quiet_hours})", logging.INFO)
            missed = list(plan.missed)
            plan = DuePlan(None, False, ())
        else:
            missed = list(plan.missed)
        for slot in missed:
            if self.ledger.record(platform, slot.at, now, "missed",
                                  f"missed by {short_duration(now - slot.at)}; policy {schedule.misfire}"):
                outcomes.append(SlotOutcome(platform, slot, "missed"))
                log.warning("%s: slot %s missed (%s late), not posted: misfire policy %s", platform,
                            local_time(slot.at, schedule), short_duration(now - slot.at), schedule.misfire)
        if plan.run is not None:
            outcome = self._run_slot(platform, plan.run, now, plan.late)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _account(self, platform: str) -> PostingAccount | None:
        found = self.schedule.account_for(platform)
        if found is None:
            return None
        return PostingAccount(platform, found[0], self.schedule.credential_env(platform))

    def _run_slot(self, platform: str, slot: Slot, now: dt.datetime, late: bool) -> SlotOutcome | None:
        schedule = self.schedule
        when = local_time(slot.at, schedule) + (f" (caught up {short_duration(now - slot.at)} late)" if late else "")
        if not self.ledger.begin(platform, slot.at, now):
            return None

        def close(outcome: str, detail: str = "", item: QueuedThread | None = None, level=logging.INFO) -> SlotOutcome:
            self.ledger.finish(platform, slot.at, outcome, publication_id=item.publication_id if item else None,
                               detail=detail)
            log.log(level, "%s: slot %s: %s%s%s", platform, when, outcome,
                    f" {item.ids()}" if item else "", f": {detail}" if detail else "")
            return SlotOutcome(platform, slot, outcome, item, detail, late)

        account = self._account(platform)
        if account is None:
            return close("disabled", "no enabled account")
        missing = schedule.missing_credentials(platform, self.environ)
        if missing:
            return close("credentials", "missing environment variable " + ", ".join(missing), level=logging.ERROR)
        problem = self.store.account_problem(platform, now)
        if problem:
            return close("account", problem, level=logging.ERROR)
        recent = list(self.store.post_times(platform, now - DAY))
        candidates = list(self.store.waiting(platform, now))
        platform_left = self.store.platform_remaining(platform, now)
        from publisher.schedule.budget import gate as budget_gate

        gate = budget_gate(schedule, platform, self.store, now)
        while True:
            decision = decide(schedule, platform, now, recent, candidates, platform_left, gate=gate)
            if decision.item is None:
                return close(decision.outcome, decision.detail,
                             level=logging.WARNING if decision.outcome in ("quota", "budget") else logging.INFO)
            item = decision.item
            if self._claim(platform, item.publication_id, now, f"slot {when} by publisher run", schedule):
                break
            candidates.remove(item)  # approval withdrawn meanwhile: take the next one
        remaining = min_known(remaining_quota(schedule.quota_for(platform), recent, now), platform_left)
        self.ledger.finish(platform, slot.at, "claimed", publication_id=item.publication_id)
        log.info("%s: slot %s: publishing %s (%d posts; %s)", platform, when, item.ids(), item.posts,
                 "no daily quota" if remaining is None else f"{remaining} left in the 24-hour quota")
        result = self._publish(item, account)
        return close(result.state, f"{result.posts_sent} posts sent" + (f"; {result.detail}" if result.detail else ""),
                     item, level=logging.INFO if result.state == "posted" else logging.WARNING)

    def _publish(self, item: QueuedThread, account: PostingAccount) -> PublishOutcome:
        try:
            return self.publish(item, account, self.stopping.is_set)
        except PublisherError as exc:
            return PublishOutcome("error", 0, scrub(str(exc), account, self.environ))
        except Exception as exc:  # a bug: the outbox keeps the publication's state; next start resolves
            message = scrub(f"internal error {type(exc).__name__}: {exc}", account, self.environ)
            if os.environ.get("PUBLISHER_DEBUG"):
                log.exception("%s: %s", item.ids(), message)
            return PublishOutcome("error", 0, message)

    # --- one pass, for --once ---

    def run_once(self) -> OnceReport:
        """Everything due now: reload, finish interrupted threads, scan sources, handle due slots."""
        self.watcher.poll()
        self.announce()
        continued = self.continue_due()
        ingested = self.scan()
        slots = self.tick()
        return OnceReport(continued=tuple(continued), ingested=tuple(ingested), slots=tuple(slots))

    # --- the long-running loop ---

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (by SIGTERM/SIGINT in :func:`~publisher.daemon.runtime.serve_forever`),
        with APScheduler waking :meth:`scan` and :meth:`tick` (:func:`publisher.daemon.runtime.serve`)."""
        serve(self, stop or self.stopping)

