"""The daemon and a feed source, end to end: the loopback feed server, the real fetcher, the real
ingest pipeline (a fake translator), the real outbox file, the real X adapter (tweepy) against the
fake X. A feed gains an entry: the next scan queues exactly one thread; an entry edited upstream
is a new revision of the same article, which waits for a person, and nothing is posted twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from feed_server import FeedServer
from publisher.daemon.daemon import Daemon
from publisher.daemon.sources import ScheduleWatcher, SourceScanner
from publisher.daemon.wiring import OutboxStore, default_ingest
from publisher.queue.ledger import SlotLedger
from publisher.testing import ManualClock
from publisher.articles.read import read_article
from publisher.queue.outbox import Outbox
from publisher.settings import resolve_settings
from publisher.schedule.config import UTC
from publisher.translate.base import FakeTranslator
from test_feeds import PARAS, article_page, articles, rss

# Asia/Shanghai: 09:00 local = 01:00 UTC, 12:00 = 04:00 UTC, 15:00 = 07:00 UTC.
START = dt.datetime(2024, 6, 14, 0, 0, tzinfo=UTC)
NINE = dt.datetime(2024, 6, 14, 1, 0, tzinfo=UTC)
NOON = dt.datetime(2024, 6, 14, 4, 0, tzinfo=UTC)
THREE = dt.datetime(2024, 6, 14, 7, 0, tzinfo=UTC)

SCHEDULE = """\
timezone: Asia/Shanghai
scan_every: 1s
threads:
  hold_untranslated: false
sources:
  - path: inbox
    feed: {feed}
    poll_every: 10m
    auto_approve: true
    platforms: [x]
platforms:
  x:
    accounts:
      main:
        daily_quota: 17
    slots:
      - days: daily
        times: ["09:00", "12:00", "15:00"]
"""


class English(FakeTranslator):
    """Every sentence comes back as English that differs with the Chinese (X refuses duplicates)."""

    def translate_sentences(self, sentences):
        return [f"Kuaishou's news item {hashlib.sha1(s.encode()).hexdigest()[:8]} is about Kling." for s in sentences]


def slots(daemon) -> list[tuple[str, str]]:
    return [(r.slot_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M"), r.outcome)
            for r in daemon.ledger.rows("x")]


def entry(server, n: int, prefix: str = "") -> dict:
    server.route(f"/n/{n}", article_page(f"第{n}篇新闻{prefix}", [f"{prefix}第{n}篇：{p}" for p in PARAS],
                                         meta=f'<meta property="og:description" content="第{n}篇的简介{prefix}">'))
    return {"title": f"第{n}篇新闻{prefix}", "link": server.url(f"/n/{n}"), "guid": f"g{n}",
            "date": f"Fri, 14 Jun 2024 0{n}:00:00 +0800"}


def test_a_feed_source_in_the_daemon_one_thread_per_entry_revisions_never_posted_twice(tmp_path, fake_x, caplog):
    caplog.set_level(logging.INFO, logger="publisher")
    with FeedServer() as server:
        items = [entry(server, 1)]
        feed = server.route("/feed.xml", rss(items), content_type="application/rss+xml")
        schedule = tmp_path / "schedule.yaml"
        schedule.write_text(SCHEDULE.format(feed=feed), encoding="utf-8")
        db = tmp_path / "publisher.db"
        outbox = Outbox.open(db)
        clock = ManualClock(START)
        store = OutboxStore(outbox, clock=clock)
        watcher = ScheduleWatcher(schedule)
        daemon = Daemon(watcher=watcher, store=store, publish=store.publish,
                        ingest=default_ingest(outbox, translator=English(),
                                              settings=lambda: resolve_settings(watcher.schedule)),
                        ledger=SlotLedger(db), clock=clock, scanner=SourceScanner(settle=0))

        # 08:00: the first poll writes the entry's file and the same scan queues its thread.
        report = daemon.run_once()
        assert [r.status for r in report.ingested] == ["new"]
        (first_file,) = articles(tmp_path / "inbox")
        assert read_article(first_file).url == server.url("/n/1")
        first_article = report.ingested[0].article_id
        assert daemon.run_once().ingested == ()  # not due: the feed is not even asked
        assert len(server.hits("/feed.xml")) == 1

        # 09:00: it goes out, crediting the original.
        clock.set(NINE)
        daemon.run_once()  # (the slot may be handled between two fetches: the ledger says what it did)
        assert slots(daemon) == [("09:00", "posted")]
        posted = len(fake_x.tweets)
        assert server.url("/n/1") in fake_x.tweets[-1].text

        # The feed gains an entry: the next poll (10 minutes on) queues exactly one thread.
        items.insert(0, entry(server, 2))
        server.route("/feed.xml", rss(items), content_type="application/rss+xml")
        clock.set(NINE + dt.timedelta(minutes=11))
        report = daemon.run_once()
        assert [(r.status, r.article_id != first_article) for r in report.ingested] == [("new", True)]
        assert len(articles(tmp_path / "inbox")) == 2
        assert len(server.hits("/n/1")) == 1  # the known entry was not fetched again

        # Entry 1 is corrected upstream: the same file is rewritten, a new revision of the SAME
        # article, which waits for a person because the first was posted.
        items[1] = entry(server, 1, prefix="更正")
        server.route("/feed.xml", rss(items), content_type="application/rss+xml")
        clock.set(NINE + dt.timedelta(minutes=22))
        report = daemon.run_once()
        (revised,) = report.ingested
        assert revised.status == "revision 2" and revised.article_id != first_article
        assert revised.approved == ()
        assert "already posted" in revised.detail
        assert len(articles(tmp_path / "inbox")) == 2
        assert read_article(first_file).title == "第1篇新闻更正"
        assert any("fetched updated" in r.getMessage() and str(first_file) in r.getMessage() for r in caplog.records)
        rev = outbox.article(revised.article_id)
        assert rev.path == outbox.article(first_article).path and rev.revision == 2

        # The slots: entry 2 goes out at noon; the revision never goes out by itself.
        clock.set(NOON)
        daemon.run_once()
        assert server.url("/n/2") in fake_x.tweets[-1].text
        clock.set(THREE)
        daemon.run_once()
        assert slots(daemon) == [("09:00", "posted"), ("12:00", "posted"), ("15:00", "idle")]
        texts = [t.text for t in fake_x.tweets]
        assert len(texts) == len(set(texts)) and len(texts) > posted
        assert sum(server.url("/n/1") in t for t in texts) == 1 and sum(server.url("/n/2") in t for t in texts) == 1
        assert [d.outcome for d in fake_x.received if d.outcome != "created"] == []
        states = sorted((p.article_id, p.state) for p in outbox.rows(states=None))
        assert [s for _, s in states].count("posted") == 2 and "draft" in [s for _, s in states]
        outbox.close()
