"""The daemon's hook: poll the feeds and pages of schedule.yaml's sources whose time came, later
and later after errors; each error logged once (logger ``publisher.feeds``)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from publisher.clock import ago
from publisher.errors import PublisherError
from publisher.feeds.fetcher import Fetcher, Outcome
from publisher.feeds.store import FeedStore, PollState

if TYPE_CHECKING:
    from publisher.schedule.config import Schedule, Source

log = logging.getLogger("publisher.feeds")

MAX_BACKOFF = dt.timedelta(hours=24)


def next_delay(every: dt.timedelta, failures: int, retry_after: float | None = None) -> dt.timedelta:
    """When to poll again: ``every``; after n failures in a row, ``every`` × 2ⁿ (at most 24 h),
    and never before a Retry-After the server gave."""
    delay = every * (2 ** min(failures, 16)) if failures else every
    delay = min(delay, max(MAX_BACKOFF, every))
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds())))
    return delay


def poll_sources(schedule: "Schedule", db: Path | str, now: dt.datetime, *,
                 between: Callable[[], Any] | None = None, should_stop: Callable[[], bool] | None = None,
                 fetcher: Fetcher | None = None) -> list[Outcome]:
    """The daemon's hook, called at every scan: poll the feeds and pages whose time came.

    Each URL is polled every ``poll_every`` of its source; after an error, later and later
    (:func:`next_delay`). An error is logged once (again only when it changes), a recovery once.
    ``between`` runs after each URL (the daemon handles due slots there).
    """
    urls: list[tuple[str, str, "Source"]] = []
    for source in schedule.sources:
        if source.feed:
            urls.append(("feed", source.feed, source))
        for page in source.pages:
            urls.append(("page", page, source))
    if not urls:
        return []
    try:
        store = fetcher.store if fetcher is not None else FeedStore(db)
    except (sqlite3.Error, OSError, PublisherError) as exc:
        log.error("feeds: cannot open %s: %s (nothing fetched)", db, exc)
        return []
    own = fetcher is None
    fetcher = fetcher or Fetcher(store, clock=lambda: now, between=between, should_stop=should_stop)
    outcomes: list[Outcome] = []
    try:
        for kind, url, source in urls:
            if should_stop is not None and should_stop():
                break
            state = store.state(url)
            if state.next_poll is not None and state.next_poll > now:
                continue
            folder = schedule.source_dir(source)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                _log_failure(store, state, f"{url}: cannot create {folder}: {exc.strerror or exc}")
                store.save_state(replace(store.state(url), next_poll=now + source.poll_every))
                continue
            try:
                got = (fetcher.poll_feed(url, folder, backfill=source.backfill) if kind == "feed"
                       else [fetcher.fetch_page(url, folder)])
            except Exception as exc:  # a bug: one line, and the other sources go on
                if os.environ.get("PUBLISHER_DEBUG"):
                    log.exception("%s: internal error", url)
                got = [Outcome(url, "failed", detail=f"{url}: internal error {type(exc).__name__}: {exc}")]
            outcomes.extend(got)
            feed_failed = next((o for o in got if o.status == "failed" and o.url == url), None)
            state = store.state(url)
            if feed_failed is not None:
                failures = state.failures + 1
                _log_failure(store, state, feed_failed.detail,
                             f" (retrying in {ago(next_delay(source.poll_every, failures))})")
                store.save_state(replace(store.state(url), failures=failures, last_error=feed_failed.detail,
                                         next_poll=now + next_delay(source.poll_every, failures,
                                                                    feed_failed.retry_after)))
            else:
                if state.failures or state.last_error:
                    log.info("%s: reachable again", url)
                store.save_state(replace(state, failures=0, last_error=None, next_poll=now + source.poll_every))
            for outcome in got:
                if outcome is feed_failed:
                    continue
                if outcome.status != "failed" and outcome.url != url:
                    entry_state = store.state(outcome.url)
                    if entry_state.last_error:  # an entry's page that failed before: news again next time
                        store.save_state(replace(entry_state, last_error=None))
                if outcome.status in ("new", "updated"):
                    log.info("fetched %s", outcome.line())
                elif outcome.status == "kept":
                    log.warning("fetched %s", outcome.line())
                elif outcome.status == "failed":
                    entry_state = store.state(outcome.url)
                    if entry_state.last_error != outcome.detail:
                        log.error("%s", outcome.line())
                        store.save_state(replace(entry_state, last_error=outcome.detail))
                else:
                    log.debug("fetched %s", outcome.line())
            if between is not None:
                between()
    except (sqlite3.Error, OSError) as exc:  # the database or the disk: say it, and go on with the scan
        log.error("feeds: %s (fetching stopped; tried again at the next scan)", exc)
    finally:
        if own:
            fetcher.close()
    return outcomes


def _log_failure(store: FeedStore, state: PollState, message: str, suffix: str = "") -> None:
    if state.last_error != message:
        log.error("%s%s", message, suffix)
    else:
        log.debug("%s (still failing)", message)
