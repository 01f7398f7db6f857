"""End to end on the real outbox (SQLite file, state machine, publish loop), the real X adapter
(tweepy) and the HTTP-level fake X on loopback: articles dropped into an inbox go out in the
next slots; quotas hold whole threads back; `publisher schedule` and `publisher run --once` as
commands; the real `publisher run` daemon stopped (SIGTERM, SIGKILL) and restarted in
subprocesses never posts anything twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from factories import make_article, make_thread, make_translated, write_article
from fake_x import CLI_BOOTSTRAP, FakeX, x_env
from publisher.daemon.daemon import Daemon
from publisher.daemon.records import IngestResult
from publisher.daemon.runtime import DaemonLock
from publisher.daemon.sources import ScheduleWatcher, SourceScanner
from publisher.daemon.wiring import OutboxStore, ingested_result
from publisher.queue.ledger import SlotLedger
from publisher.testing import ManualClock
from publisher.articles.read import read_article
from publisher.queue.outbox import Outbox
from publisher.schedule.config import UTC

TESTS = Path(__file__).parent


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# Asia/Shanghai: 09:00 local = 01:00 UTC, 12:00 = 04:00 UTC.
NINE = utc(2024, 6, 14, 1)
NOON = utc(2024, 6, 14, 4)

SCHEDULE = """\
timezone: Asia/Shanghai
misfire: catch_up_one
scan_every: 1s
threads:
  hold_untranslated: false   # the tiny test model's random output is full of Chinese pieces
sources:
  - path: inbox
    auto_approve: true
    platforms: [x]
  - path: seeds
    auto_approve: false
    platforms: [x]
platforms:
  x:
    accounts:
      main:
        daily_quota: {quota}
    slots:
      - days: daily
        times: [{times}]
"""


def write_schedule(folder: Path, quota: int = 17, times: str = '"09:00", "12:00"') -> Path:
    path = folder / "schedule.yaml"
    path.write_text(SCHEDULE.format(quota=quota, times=times), encoding="utf-8")
    return path


def fake_ingest(outbox: Outbox, n_posts: int = 3):
    """The ingest step without a translation model: the real reader, a hand-made thread."""

    def ingest(path: Path, source, now: dt.datetime) -> IngestResult:
        article = read_article(path)
        threads = {p: make_thread(article, p, n_posts=n_posts) for p in source.platforms}
        ingested = outbox.add_article(article, make_translated(article), threads, auto_approve=source.auto_approve,
                                      now=now)
        return ingested_result(ingested, tuple(outbox.get(p).thread_id for p in ingested.publications))

    return ingest


def settle(path: Path) -> None:
    """Make a file look written a minute ago (the scanner waits for files to settle)."""
    old = time.time() - 60
    os.utime(path, (old, old))


@pytest.fixture
def world(tmp_path, fake_x):
    """A real outbox file, a schedule, the real X adapter and a daemon with a manual clock."""

    def build(start: dt.datetime, **schedule_kwargs):
        outbox = Outbox.open(tmp_path / "publisher.db")
        clock = ManualClock(start)
        store = OutboxStore(outbox, clock=clock)  # the real platform factory: XPlatform from the env
        daemon = Daemon(watcher=ScheduleWatcher(write_schedule(tmp_path, **schedule_kwargs)), store=store,
                        publish=store.publish, ingest=fake_ingest(outbox), ledger=SlotLedger(tmp_path / "publisher.db"),
                        clock=clock, scanner=SourceScanner(settle=2))
        return daemon, outbox, fake_x, clock

    return build


def test_two_articles_dropped_into_the_inbox_go_out_in_the_next_two_slots(world, tmp_path):
    daemon, outbox, fake, clock = world(utc(2024, 6, 14, 0, 30))  # 08:30 in Shanghai
    inbox, seeds = tmp_path / "inbox", tmp_path / "seeds"
    for folder, name, title in [(inbox, "a.md", "第一篇"), (inbox, "b.md", "第二篇"), (seeds, "c.md", "第三篇")]:
        settle(write_article(folder, name, title=title))
    report = daemon.run_once()
    assert [(r.status, r.approved != ()) for r in report.ingested] == [("new", True), ("new", True), ("new", False)]
    assert report.slots == () and fake.tweets == []
    assert daemon.run_once().ingested == ()  # nothing changed: nothing ingested again

    clock.set(NINE)
    report = daemon.run_once()
    assert [(o.outcome, o.publication.title) for o in report.slots] == [("posted", "第一篇")]
    assert len(fake.tweets) == 3
    clock.set(NINE + dt.timedelta(minutes=5))
    assert daemon.run_once().slots == ()
    clock.set(NOON + dt.timedelta(seconds=20))
    report = daemon.run_once()
    assert [(o.outcome, o.publication.title) for o in report.slots] == [("posted", "第二篇")]
    clock.set(utc(2024, 6, 15, 1))  # next day 09:00: only the unapproved seed is left
    assert [o.outcome for o in daemon.run_once().slots] == ["idle"]

    # The posts on X: two intact reply chains, in slot order, at the slot times.
    tweets = fake.tweets
    assert [_tag(t.text) for t in tweets] == ["a"] * 3 + ["b"] * 3
    for chain in (tweets[:3], tweets[3:]):
        assert chain[0].in_reply_to is None
        assert [t.in_reply_to for t in chain[1:]] == [t.id for t in chain[:-1]]
    assert len(fake.received) == 6  # six requests, six posts: nothing sent twice
    rows = outbox.db.execute("SELECT publication_id, idx, posted_at FROM post_results ORDER BY posted_at").fetchall()
    assert [r[2][:16] for r in rows] == ["2024-06-14T01:00"] * 3 + ["2024-06-14T04:00"] * 3
    states = {row.title: row.state for row in outbox.rows()}
    assert states == {"第一篇": "posted", "第二篇": "posted", "第三篇": "draft"}
    assert [(r.outcome, r.publication_id) for r in daemon.ledger.rows("x")] == [
        ("posted", "1"), ("posted", "2"), ("idle", None)]


def test_a_changed_article_in_the_inbox_is_a_new_revision_never_a_silent_repost(world, tmp_path):
    daemon, outbox, fake, clock = world(NINE - dt.timedelta(minutes=30))
    path = write_article(tmp_path / "inbox", "a.md", title="第一篇")
    settle(path)
    daemon.run_once()
    clock.set(NINE)
    daemon.run_once()
    assert len(fake.tweets) == 3
    path.write_text(path.read_text(encoding="utf-8").replace("第一篇", "第一篇（更正）"), encoding="utf-8")
    old = time.time() - 30
    os.utime(path, (old, old))
    report = daemon.run_once()
    assert [r.status for r in report.ingested] == ["revision 2"]
    assert "an earlier revision was already posted" in report.ingested[0].detail
    assert report.ingested[0].approved == ()  # waits for a person
    clock.set(NOON)
    assert [o.outcome for o in daemon.run_once().slots] == ["idle"]
    assert len(fake.received) == 3


def test_a_six_post_thread_is_not_started_with_five_posts_of_quota_left(world, tmp_path):
    daemon, outbox, fake, clock = world(NINE - dt.timedelta(hours=3))
    # Two 6-post threads posted by hand this morning: 12 of 17 used, 5 left.
    for name in ("early1.md", "early2.md"):
        article = make_article(tmp_path / "done", name, title=name)
        pid = outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=6)},
                                 auto_approve=True, now=clock.now()).publications[0]
        daemon.store.claim(pid, clock.now(), "by hand")
        assert daemon.store.publish(_queued(outbox, pid), _account(), lambda: False).state == "posted"
    assert len(fake.tweets) == 12
    article = make_article(tmp_path / "queue", "long.md", title="长线程")
    long_pid = outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=6)},
                                  auto_approve=True, now=clock.now()).publications[0]
    clock.set(NINE)
    report = daemon.run_once()
    assert [o.outcome for o in report.slots] == ["quota"]
    assert "needs 6 posts, 5 of 17 left" in report.slots[0].detail
    assert len(fake.received) == 12  # not one post of it was even attempted
    assert outbox.get(long_pid).state == "approved" and outbox.get(long_pid).posted_count == 0
    # A 5-post thread fits and goes in the next slot, ahead of the long one.
    article = make_article(tmp_path / "queue", "short.md", title="短线程")
    short_pid = outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=5)},
                                   auto_approve=True, now=clock.now()).publications[0]
    clock.set(NOON)
    assert [(o.outcome, o.publication.publication_id) for o in daemon.run_once().slots] == [("posted", short_pid)]
    assert outbox.get(long_pid).state == "approved"
    # The next day, once the morning's posts left the window, the long thread goes out whole.
    clock.set(NINE + dt.timedelta(days=1))
    assert [(o.outcome, o.publication.publication_id) for o in daemon.run_once().slots] == [("posted", long_pid)]
    assert outbox.get(long_pid).posted_count == 6
    assert len(fake.tweets) == 23


def test_rejected_credentials_stop_the_account_loudly_not_silently(world, tmp_path):
    from fake_x import Fault

    daemon, outbox, fake, clock = world(NINE - dt.timedelta(minutes=30))
    for name in ("a.md", "b.md"):
        settle(write_article(tmp_path / "inbox", name))
    daemon.run_once()
    fake.fail_next(Fault("unauthorized"))
    clock.set(NINE)
    (slot,) = daemon.run_once().slots
    assert slot.outcome == "failed" and "rejected the credentials" in slot.detail
    clock.set(NOON)
    (slot,) = daemon.run_once().slots
    assert slot.outcome == "account" and slot.detail.startswith("blocked: x rejected the credentials")
    assert len(fake.received) == 1 and fake.tweets == []  # one refused request, nothing more tried


def test_a_spent_daily_cap_on_x_pauses_the_account_until_its_reset(world, tmp_path):
    from fake_x import Fault

    daemon, outbox, fake, clock = world(NINE - dt.timedelta(minutes=30))
    for name in ("a.md", "b.md"):
        settle(write_article(tmp_path / "inbox", name))
    daemon.run_once()
    fake.fail_next(Fault("rate_limit", daily=True, reset_in=3600))
    clock.set(NINE)
    (slot,) = daemon.run_once().slots
    assert slot.outcome == "scheduled" and "daily cap" in slot.detail  # rescheduled for X's reset time
    clock.set(NOON)
    (slot,) = daemon.run_once().slots
    assert slot.outcome == "account" and slot.detail.startswith("paused until")
    assert fake.tweets == []


def _tag(text: str) -> str:
    """The article a factory-made post comes from: its texts start with the file's stem."""
    return text.split(":")[0].split(" — ")[0]


def _queued(outbox: Outbox, pid: int):
    return OutboxStore._queued(outbox.get(pid))


def _account():
    from publisher.daemon.records import PostingAccount

    return PostingAccount("x", "main", {})


def test_publisher_schedule_shows_slots_threads_and_quota(tmp_path):
    db = tmp_path / "publisher.db"
    now = utc(2024, 6, 14, 0, 30)
    with Outbox.open(db) as outbox:
        for name, n in [("a.md", 6), ("b.md", 4)]:
            article = make_article(tmp_path / "in", name, title=f"标题{name[0]}")
            outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=n)},
                               auto_approve=True, now=now - dt.timedelta(hours=1))
    schedule = write_schedule(tmp_path, quota=8)
    env = subprocess_env(PUBLISHER_DB=str(db), X_API_KEY="k", X_API_SECRET="s", X_ACCESS_TOKEN="t",
                         X_ACCESS_TOKEN_SECRET="u")
    proc = run_cli("schedule", "--schedule", str(schedule), "--now", "2024-06-14T08:30", "--days", "2", "--json",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["accounts"] == [{"platform": "x", "account": "main", "quota": 8, "used": 0, "remaining": 8,
                                 "missing_env": []}]
    got = [(s["at"], s["outcome"], s["title"]) for s in data["slots"]]
    assert got[:3] == [("2024-06-14T09:00:00+08:00", "post", "标题a"),
                       ("2024-06-14T12:00:00+08:00", "quota", None),
                       ("2024-06-15T09:00:00+08:00", "post", "标题b")]
    assert "needs 4 posts, 2 of 8 left" in data["slots"][1]["detail"]
    proc = run_cli("schedule", "--schedule", str(schedule), "--now", "2024-06-14T08:30", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Fri 2024-06-14 09:00 CST" in proc.stdout and "标题a" in proc.stdout
    assert "Quota" in proc.stdout
    # Missing credentials are named (never shown).
    env = subprocess_env(PUBLISHER_DB=str(db))
    proc = run_cli("schedule", "--schedule", str(schedule), "--now", "2024-06-14T08:30", "--json", env=env)
    data = json.loads(proc.stdout)
    assert data["accounts"][0]["missing_env"] == ["X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
                                                  "X_ACCESS_TOKEN_SECRET"]
    assert {s["outcome"] for s in data["slots"]} == {"credentials"}


def test_run_once_respects_the_lock_and_does_what_is_due(tmp_path):
    db = tmp_path / "publisher.db"
    schedule = write_schedule(tmp_path)
    env = subprocess_env(PUBLISHER_DB=str(db), X_API_KEY="k", X_API_SECRET="s", X_ACCESS_TOKEN="t",
                         X_ACCESS_TOKEN_SECRET="u")
    with DaemonLock(db):
        proc = run_cli("run", "--once", "--schedule", str(schedule), env=env)
    assert proc.returncode == 75, proc.stderr
    assert f"another publisher run (pid {os.getpid()})" in proc.stderr
    # Nothing due: exits 0 after one pass, having logged what it did.
    proc = run_cli("run", "--once", "--schedule", str(schedule), "--now", "2024-06-14T09:00", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "x: slot 2024-06-14 09:00:00 CST: idle: nothing approved" in proc.stderr
    proc = run_cli("run", "--once", "--schedule", str(schedule), "--now", "2024-06-14T09:01", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "slot" not in proc.stderr  # the 09:00 slot is used up


# --- real daemons, stopped and restarted ---------------------------------------------------------


def _start_daemon(tmp_path: Path, fake: FakeX, start: str) -> subprocess.Popen:
    """`publisher run --now START` in a subprocess, its X traffic routed to the fake."""
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "publisher.db"), FAKE_X_URL=fake.base_url,
                         FAKE_X_TESTS=str(TESTS), **x_env(fake))
    proc = subprocess.Popen([sys.executable, "-c", CLI_BOOTSTRAP, "run", "--schedule", str(tmp_path / "schedule.yaml"),
                             "--now", start], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path))
    return proc


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return err


def _seed_queue(tmp_path: Path, n_threads: int, n_posts: int, approved_at: dt.datetime) -> list[int]:
    pids = []
    with Outbox.open(tmp_path / "publisher.db") as outbox:
        for i in range(n_threads):
            article = make_article(tmp_path / "articles", f"a{i}.md", title=f"文章{i}")
            pids += outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=n_posts)},
                                       auto_approve=True, now=approved_at).publications
    return pids


def _chains(fake: FakeX) -> dict[str, list]:
    """Tweets grouped by thread (the factories start each text with the article's name)."""
    chains: dict[str, list] = {}
    for tweet in fake.tweets:
        chains.setdefault(_tag(tweet.text), []).append(tweet)
    return chains


def _check_no_duplicates_and_chains(fake: FakeX, expected: int, n_posts: int) -> None:
    texts = [r.text for r in fake.received]
    assert len(texts) == len(set(texts)), "a post was sent twice"
    assert all(r.outcome == "created" for r in fake.received)
    chains = _chains(fake)
    assert len(chains) == expected
    for chain in chains.values():
        assert len(chain) == n_posts
        assert chain[0].in_reply_to is None
        assert [t.in_reply_to for t in chain[1:]] == [t.id for t in chain[:-1]]


@pytest.mark.slow
def test_a_daemon_stopped_with_sigterm_and_restarted_posts_nothing_twice(tmp_path):
    write_schedule(tmp_path, quota=100, times='"09:00:03", "09:00:08", "09:00:30"')
    pids = _seed_queue(tmp_path, 3, 5, approved_at=utc(2024, 6, 14, 0))
    with FakeX(process_delay=(0.25, 0.25)) as fake:
        first = _start_daemon(tmp_path, fake, "2024-06-14T09:00:00")
        # The first thread goes out at 09:00:03; stop during the second (from 09:00:08).
        _wait_for(lambda: len(fake.tweets) >= 7, first)
        err = _stop(first, signal.SIGTERM)
        assert first.returncode == 0, err
        assert "SIGTERM received: finishing the post in flight, then stopping" in err
        assert "stopped after" in err and err.rstrip().endswith("stopped")
        assert "Traceback" not in err
        stopped_at = len(fake.tweets)
        assert 7 <= stopped_at < 10  # the second thread is partly out
        with Outbox.open(tmp_path / "publisher.db") as outbox:
            assert [outbox.get(p).state for p in pids] == ["posted", "approved", "approved"]
            assert outbox.get(pids[1]).posted_count == stopped_at - 5

        # Restarted later: the half-posted thread is finished first, outside any slot; the
        # third goes out at 09:00:30; nothing is repeated.
        second = _start_daemon(tmp_path, fake, "2024-06-14T09:00:20")
        _wait_for(lambda: len(fake.tweets) >= 15, second)
        time.sleep(1)
        err2 = _stop(second, signal.SIGINT)
        assert second.returncode == 0, err2
        assert "resuming article" in err2 and f"publication {pids[1]}" in err2
        assert len(fake.tweets) == 15
        _check_no_duplicates_and_chains(fake, 3, 5)
        with Outbox.open(tmp_path / "publisher.db") as outbox:
            assert [outbox.get(p).state for p in pids] == ["posted"] * 3
        secrets = x_env(fake).values()
        for line in (err + err2).splitlines():  # one line per action, never a secret
            assert not any(value in line for value in secrets), line
        assert any("posted 1/5 of article" in line for line in err.splitlines())


@pytest.mark.slow
def test_a_daemon_killed_mid_thread_never_reposts_and_names_the_unknown_post(tmp_path):
    write_schedule(tmp_path, quota=100, times='"09:00:03", "09:00:30"')
    pids = _seed_queue(tmp_path, 2, 6, approved_at=utc(2024, 6, 14, 0))
    with FakeX(process_delay=(0.3, 0.3)) as fake:
        first = _start_daemon(tmp_path, fake, "2024-06-14T09:00:00")
        _wait_for(lambda: len(fake.tweets) >= 3, first)
        _stop(first, signal.SIGKILL)
        fake.wait_idle()
        killed_at = len(fake.tweets)
        second = _start_daemon(tmp_path, fake, "2024-06-14T09:00:25")
        _wait_for(lambda: len(fake.tweets) >= killed_at + 6, second)  # the second thread at 09:00:30
        time.sleep(1.5)
        err = _stop(second, signal.SIGTERM)
        assert second.returncode == 0, err
        texts = [r.text for r in fake.received]
        assert len(texts) == len(set(texts)), "a post was sent twice"
        with Outbox.open(tmp_path / "publisher.db") as outbox:
            first_pub = outbox.get(pids[0])
            assert outbox.get(pids[1]).state == "posted"
            sent = sum(1 for t in fake.tweets if _tag(t.text) == "a0")
            if first_pub.state == "needs_attention":
                # killed while a post was on the wire: a person decides; nothing was resent
                assert first_pub.unknown_index is not None
                assert f"recovered: x article {first_pub.article_id}" in err
                assert sent in (first_pub.posted_count, first_pub.posted_count + 1)
            else:
                # killed between two posts: the rest was sent after the restart, in order
                assert first_pub.state == "posted" and sent == 6
                _check_no_duplicates_and_chains(fake, 2, 6)


# --- the whole pipeline from the command line ------------------------------------------------------


def _once(tmp_path: Path, now: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI_BOOTSTRAP, "run", "--once", "--schedule",
                           str(tmp_path / "schedule.yaml"), "--now", now], env=env, capture_output=True, text=True,
                          timeout=120, cwd=str(tmp_path))


@pytest.mark.slow
def test_cli_two_articles_in_the_inbox_translated_rendered_and_posted_in_the_next_two_slots(tmp_path,
                                                                                            tmp_path_factory,
                                                                                            db_target):
    """Nothing injected: `publisher run --once` from cron's point of view, the tiny real-format
    translation model, the real thread renderer, the outbox (a SQLite file, or PostgreSQL),
    tweepy and the fake X."""
    from tinymodel import install_tiny_package

    models = tmp_path / "models"
    install_tiny_package(tmp_path_factory, models)
    write_schedule(tmp_path)
    for name, title, body in [("a.md", "快手发布可灵", "快手发布了视频生成大模型可灵。它可以生成两分钟的视频。"),
                              ("b.md", "字节跳动推出即梦", "字节跳动推出了即梦。即梦支持文字生成图片和视频。")]:
        settle(write_article(tmp_path / "inbox", name, title=title, body=body))
    with FakeX() as fake:
        env = subprocess_env(PUBLISHER_DB=str(db_target), PUBLISHER_MODELS_DIR=str(models),
                             FAKE_X_URL=fake.base_url, FAKE_X_TESTS=str(TESTS), **x_env(fake))
        proc = _once(tmp_path, "2024-06-14T08:30", env)
        assert proc.returncode == 0, proc.stderr
        ingested = [line for line in proc.stderr.splitlines() if " ingest /" in line]  # not "nothing is ingested from"
        assert len(ingested) == 2 and all("new article" in line and "approved" in line for line in ingested), ingested
        assert ingested[0].endswith("a.md: new article 1 publications 1 (thread 1), approved 1"), ingested
        assert fake.tweets == []
        proc = _once(tmp_path, "2024-06-14T09:00:30", env)
        assert proc.returncode == 0, proc.stderr
        first = len(fake.tweets)
        assert first >= 2 and "slot 2024-06-14 09:00:00 CST: posted article 1" in proc.stderr
        assert _once(tmp_path, "2024-06-14T09:30", env).returncode == 0
        assert len(fake.tweets) == first  # the 09:00 slot is used up; 12:00 has not come
        proc = _once(tmp_path, "2024-06-14T12:02", env)
        assert proc.returncode == 0, proc.stderr
        assert "slot 2024-06-14 12:00:00 CST: posted article 2" in proc.stderr
        tweets = fake.tweets
        assert len(fake.received) == len(tweets) and all(r.outcome == "created" for r in fake.received)
        chains = [tweets[:first], tweets[first:]]
        for chain in chains:
            assert chain[0].in_reply_to is None
            assert [t.in_reply_to for t in chain[1:]] == [t.id for t in chain[:-1]]
            assert "machine-translated from chinese" in chain[-1].text.lower()
        assert "example.com/articles/a" in " ".join(t.text for t in chains[0])
        assert "example.com/articles/b" in " ".join(t.text for t in chains[1])


def test_cli_without_a_translation_model_ingests_nothing_and_says_so_once(tmp_path):
    write_schedule(tmp_path)
    settle(write_article(tmp_path / "inbox", "a.md"))
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "publisher.db"), PUBLISHER_MODELS_DIR=str(tmp_path / "none"))
    proc = run_cli("run", "--once", "--schedule", str(tmp_path / "schedule.yaml"), "--now", "2024-06-14T08:30",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "no zh→en translation model installed" in line]
    assert len(lines) == 1 and "a.md" in lines[0] and "(will try again)" in lines[0]
    with Outbox.open(tmp_path / "publisher.db") as outbox:
        assert outbox.rows() == []


def test_a_platform_that_cannot_be_built_gives_the_thread_back(tmp_path):
    from publisher.errors import ConfigError

    def broken(account):
        raise ConfigError("x is not configured: set X_API_KEY in the environment or .env")

    with Outbox.open(tmp_path / "publisher.db") as outbox:
        article = make_article(tmp_path / "in", "a.md")
        pid = outbox.add_article(article, make_translated(article), {"x": make_thread(article)}, auto_approve=True,
                                 now=NINE).publications[0]
        store = OutboxStore(outbox, clock=ManualClock(NINE), make_platform=broken)
        assert store.claim(pid, NINE, "test")
        result = store.publish(_queued(outbox, pid), _account(), lambda: False)
        assert (result.state, result.posts_sent) == ("error", 0) and "X_API_KEY" in result.detail
        pub = outbox.get(pid)
        assert pub.state == "approved" and pub.owner is None  # back in line, nothing sent
        assert "not started" in pub.note


def test_x_credentials_come_from_the_variables_the_schedule_names(tmp_path, monkeypatch):
    from publisher.daemon.records import PostingAccount
    from publisher.daemon.wiring import platform_for
    from publisher.errors import ConfigError
    from publisher.schedule.config import parse_schedule

    schedule = parse_schedule(textwrap.dedent("""
        timezone: UTC
        platforms:
          x:
            accounts:
              brand:
                env: {api_key: BRAND_KEY, api_secret: BRAND_SECRET, access_token: BRAND_TOKEN,
                      access_token_secret: BRAND_TOKEN_SECRET}
            slots: [{times: ["09:00"]}]
          mastodon:
            accounts:
              main:
                env: {access_token: MY_MASTODON_TOKEN}
        """))
    with FakeX() as fake, fake.installed():
        for (name, value), custom in zip(x_env(fake).items(), ("BRAND_KEY", "BRAND_SECRET", "BRAND_TOKEN",
                                                                 "BRAND_TOKEN_SECRET")):
            monkeypatch.setenv(custom, value)  # only under the custom names
        assert schedule.missing_credentials("x") == []
        account = PostingAccount("x", "brand", schedule.credential_env("x"))
        assert platform_for(account).check().handle == "@publisher_test"  # the fake checked the signature
        monkeypatch.delenv("BRAND_TOKEN_SECRET")
        with pytest.raises(ConfigError, match="set BRAND_TOKEN_SECRET"):
            platform_for(account)
    with pytest.raises(ConfigError, match="custom environment variable names are not supported"):
        platform_for(PostingAccount("mastodon", "main", schedule.credential_env("mastodon")))
