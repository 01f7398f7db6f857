"""The daemon's log lines say each thing once: an ingest error names its file once (with the
line the reader found), and a slot says plainly how much quota is left, or that there is none."""

from __future__ import annotations

import datetime as dt
import logging
import os
import textwrap
import time

from publisher.daemon.daemon import Daemon
from publisher.daemon.records import IngestResult, PublishOutcome
from publisher.daemon.sources import ScheduleWatcher
from publisher.queue.ledger import SlotLedger
from publisher.testing import ManualClock
from publisher.errors import InputError, ModelError
from publisher.testing import MemoryScheduleStore
from publisher.schedule.config import UTC

NINE = dt.datetime(2024, 6, 14, 9, tzinfo=UTC)
CREDS = {"MASTODON_API_BASE_URL": "http://127.0.0.1:1", "MASTODON_ACCESS_TOKEN": "m" * 43}


def _daemon(tmp_path, store, ingest=None, schedule=None) -> Daemon:
    path = tmp_path / "schedule.yaml"
    path.write_text(schedule or textwrap.dedent("""\
        timezone: UTC
        sources:
          - {path: inbox, platforms: [mastodon]}
        platforms:
          mastodon:
            slots: [{times: ["09:00"]}]
        """), encoding="utf-8")
    return Daemon(watcher=ScheduleWatcher(path), store=store, ingest=ingest, ledger=SlotLedger(tmp_path / "q.db"),
                  publish=lambda item, account, stop: PublishOutcome("posted", item.posts), clock=ManualClock(NINE),
                  environ=CREDS)


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_an_ingest_error_names_its_file_once(tmp_path, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = time.time() - 60
    for name in ("a.md", "b.md", "c.md"):
        (inbox / name).write_text(name, encoding="utf-8")
        os.utime(inbox / name, (old, old))

    def ingest(path, source, now):
        if path.name == "a.md":
            raise InputError(path, "broken frontmatter: mapping values are not allowed here", line=4)
        if path.name == "b.md":
            raise ModelError("no zh→en translation model installed; run `publisher models install`")
        return IngestResult("new", article_id=1, publication_ids=(1,))

    daemon = _daemon(tmp_path, MemoryScheduleStore(), ingest)
    with caplog.at_level(logging.INFO, logger="publisher"):
        daemon.scan()
    lines = _messages(caplog)
    assert f"ingest {inbox / 'a.md'}:4: broken frontmatter: mapping values are not allowed here" in lines, lines
    assert (f"ingest {inbox / 'b.md'}: no zh→en translation model installed; run `publisher models install` "
            "(will try again)") in lines, lines
    assert all(m.count("a.md") <= 1 and m.count("b.md") <= 1 for m in lines), lines


def test_a_slot_says_the_quota_left_or_that_there_is_none(tmp_path, caplog):
    store = MemoryScheduleStore()
    pid = store.add(3, "mastodon", thread_id=107, article_id=207, title="t")
    daemon = _daemon(tmp_path, store)
    with caplog.at_level(logging.INFO, logger="publisher"):
        daemon.tick()
    lines = _messages(caplog)
    assert any(m.endswith(f"publishing article 207 thread 107 publication {pid} (3 posts; no daily quota)")
               for m in lines), lines
    assert not any("left in the 24-hour quota" in m for m in lines), lines

    other = tmp_path / "other"
    other.mkdir()
    store = MemoryScheduleStore()
    store.add(3, "mastodon", thread_id=107, article_id=207, title="t")
    daemon = _daemon(other, store, schedule=textwrap.dedent("""\
        timezone: UTC
        platforms:
          mastodon:
            accounts: {main: {daily_quota: 10}}
            slots: [{times: ["09:00"]}]
        """))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="publisher"):
        daemon.tick()
    assert any(m.endswith("(3 posts; 10 left in the 24-hour quota)") for m in _messages(caplog)), _messages(caplog)
