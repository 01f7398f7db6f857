"""What the operator is told (status.py, notify.py, expect.py, cost.py, budget.py, zone.py, progress.py;
issue #15 finding by finding): `publisher status`, alerts, the truth in approve/queue/schedule,
quota and cost on manual publish, one time zone, the small fixes. Each test fails on the code
before this change."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from alert_sink import AlertSink
from conftest import run_cli, subprocess_env
from factories import make_article, make_thread, make_translated, store
from fake_x import FakeX, x_env
from publisher.cli import cli
from publisher.queue.outbox import Outbox
from publisher.platforms.base import PostRef, RateLimited
from publisher.publishing.failures import record_failure
from publisher.schedule.config import UTC, load_schedule, next_slots, parse_schedule
from publisher.cockpit.status import collect, write_heartbeat

CREDS = {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "u"}

SCHEDULE = """\
timezone: Asia/Shanghai
scan_every: 1m
sources:
  - path: inbox
    auto_approve: true
    platforms: [x]
platforms:
  x:
    accounts:
      newsroom:
        daily_quota: {quota}
{extra}
    slots:
      - days: daily
        times: ["09:00"]
"""


def write_schedule(folder: Path, quota: int = 17, extra: str = "", notify: str = "") -> Path:
    (folder / "inbox").mkdir(exist_ok=True)
    path = folder / "schedule.yaml"
    path.write_text(SCHEDULE.format(quota=quota, extra=extra) + notify, encoding="utf-8")
    return path


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def creds(monkeypatch):
    for key, value in CREDS.items():
        monkeypatch.setenv(key, value)


def beat(outbox: Outbox, *, pid: int | None = None, host: str | None = None, ago: float = 0) -> None:
    now = dt.datetime.now(UTC) - dt.timedelta(seconds=ago)
    with outbox.transaction() as db:
        write_heartbeat(db, mode="daemon", schedule="schedule.yaml", interval=60, now=now, started_at=now)
        if pid is not None or host is not None:
            db.execute("UPDATE heartbeat SET pid = coalesce(?, pid), host = coalesce(?, host)", (pid, host))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- status -----------------------------------------------------------------------------------


def test_status_exits_1_when_no_daemon_ever_ran_and_0_when_one_beats_and_nothing_waits(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    result = invoke("status")
    assert result.exit_code == 1, result.output
    assert "`publisher run` has never run on this database" in result.output
    beat(outbox, pid=os.getpid())  # this process stands for a live daemon
    result = invoke("status")
    assert result.exit_code == 0, result.output
    assert "Nothing needs a person." in result.output
    assert f"pid {os.getpid()} on {socket.gethostname()}" in result.output
    assert "next slot" in result.output and "Asia/Shanghai" in result.output
    data = json.loads(invoke("status", "--json").output)
    assert data["ok"] is True and data["daemon"]["alive"] is True
    assert data["accounts"][0]["platform"] == "x" and data["accounts"][0]["account"] == "newsroom"
    assert data["accounts"][0]["remaining"] == 17


def test_status_sees_a_dead_daemon_a_silent_one_and_a_clean_stop(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    beat(outbox, pid=dead_pid())
    result = invoke("status", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["daemon"]["alive"] is False and "is gone" in data["daemon"]["note"]
    assert data["problems"][0]["kind"] == "daemon"
    beat(outbox, pid=os.getpid(), host="elsewhere", ago=3600)  # another machine, silent for an hour
    assert "no heartbeat for 60m" in json.loads(invoke("status", "--json").output)["daemon"]["note"]
    from publisher.cockpit.status import stop_heartbeat

    beat(outbox, pid=os.getpid())
    with outbox.transaction() as db:
        stop_heartbeat(db, dt.datetime.now(UTC))
    assert json.loads(invoke("status", "--json").output)["daemon"]["note"] == "stopped"


def test_status_lists_what_waits_for_a_person(tmp_path, outbox, creds):
    write_schedule(tmp_path, quota=3)
    beat(outbox, pid=os.getpid())
    unknown = store(outbox, tmp_path / "a", name="a.md", title="结果未知").publications[0]
    outbox.approve(unknown)
    outbox.claim(unknown)
    outbox.begin_post(unknown, 0)
    record_failure(outbox, unknown, 0, TimeoutError("read timed out"))
    held = store(outbox, tmp_path / "inbox", name="held.md", title="等人看").publications[0]
    stuck = store(outbox, tmp_path / "b", name="b.md", title="卡住了").publications[0]
    outbox.approve(stuck)
    Outbox(outbox.db, outbox.path, owner="oldcontainer:4242:999/1").claim(stuck)  # a container that is gone
    too_long = store(outbox, tmp_path / "c", name="c.md", title="太长", n_posts=5).publications[0]
    outbox.approve(too_long)
    result = invoke("status", "--json")
    assert result.exit_code == 1
    problems = {p["kind"]: p for p in json.loads(result.output)["problems"]}
    assert set(problems) == {"needs_attention", "held", "stuck", "quota_blocked"}, problems
    assert problems["needs_attention"]["publication"] == unknown and "resolve" in problems["needs_attention"]["message"]
    assert problems["held"]["publication"] == held and "held for a person" in problems["held"]["message"]
    assert problems["stuck"]["publication"] == stuck and "--release-claim" in problems["stuck"]["message"]
    assert problems["quota_blocked"]["publication"] == too_long
    text = invoke("status").output
    assert "Needs a person (4)" in text and "结果未知" in text


def test_schedule_says_whether_a_daemon_is_running(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    assert "daemon: `publisher run` has never run on this database" in invoke("schedule").output
    beat(outbox, pid=os.getpid())
    assert f"daemon: `publisher run` is running: pid {os.getpid()}" in invoke("schedule").output
    beat(outbox, pid=dead_pid())
    data = json.loads(invoke("schedule", "--json").output)
    assert "is NOT running" in data["daemon"] and "is gone" in data["daemon"]


def test_a_stopped_account_is_named_with_the_reason(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    beat(outbox, pid=os.getpid())
    outbox.block_account("x", "x rejected the credentials (401)")
    result = invoke("status")
    assert result.exit_code == 1
    assert "x/newsroom: STOPPED: x rejected the credentials (401)" in " ".join(result.output.split())


# --- alerts -----------------------------------------------------------------------------------


def test_each_event_is_sent_once_across_runs_and_a_new_one_again(tmp_path, outbox, monkeypatch):
    from publisher.cockpit.notify import Notifier
    from publisher.cockpit.status import Problem

    with AlertSink() as sink:
        monkeypatch.setenv("ALERTS", sink.url)
        settings = parse_schedule("timezone: UTC\nnotify:\n  targets: [ALERTS]\n").notify
        problem = Problem("account_stopped", "x/main is stopped: 401", key="stopped:x:main:1")
        now = dt.datetime.now(UTC)
        assert Notifier(settings, outbox.db).alert([problem], now) == [problem]
        assert Notifier(settings, outbox.db).alert([problem], now) == []  # a new process: still sent once
        other = Problem("needs_attention", "publication 3: outcome unknown", key="needs:3")
        Notifier(settings, outbox.db).alert([problem, other], now)
        assert [m["message"] for m in sink.messages] == ["x/main is stopped: 401", "publication 3: outcome unknown"]
        assert sink.messages[0]["title"] == "publisher: an account is stopped"
        # Only the events asked for.
        only = parse_schedule("timezone: UTC\nnotify:\n  targets: [ALERTS]\n  events: [failed]\n").notify
        Notifier(only, outbox.db).alert([Problem("held", "held", key="held:9")], now)
        assert len(sink.messages) == 2


def test_an_undeliverable_alert_is_tried_again_and_a_missing_variable_is_named(tmp_path, outbox, monkeypatch, caplog):
    from publisher.cockpit.notify import Notifier
    from publisher.cockpit.status import Problem

    settings = parse_schedule("timezone: UTC\nnotify:\n  targets: [ALERTS]\n").notify
    problem = Problem("failed", "publication 4 failed for good", key="failed:4")
    with caplog.at_level(logging.WARNING, logger="publisher.cockpit.notify"):
        assert Notifier(settings, outbox.db).alert([problem], dt.datetime.now(UTC)) == []
    assert "environment variable ALERTS is not set" in caplog.text
    with AlertSink(status=500) as broken:
        monkeypatch.setenv("ALERTS", broken.url)
        assert Notifier(settings, outbox.db).alert([problem], dt.datetime.now(UTC)) == []
    with AlertSink() as sink:
        monkeypatch.setenv("ALERTS", sink.url)
        assert Notifier(settings, outbox.db).alert([problem], dt.datetime.now(UTC)) == [problem]
        assert len(sink.messages) == 1


def test_notify_test_sends_to_every_target(tmp_path, outbox, monkeypatch):
    write_schedule(tmp_path, notify="notify:\n  targets: [ALERT_A, ALERT_B]\n")
    with AlertSink() as sink:
        monkeypatch.setenv("ALERT_A", sink.url)
        result = invoke("notify", "test")
        assert result.exit_code == 1 and "ALERT_B: not set" in result.output and "ALERT_A: sent" in result.output
        monkeypatch.setenv("ALERT_B", sink.url)
        result = invoke("notify", "test")
        assert result.exit_code == 0, result.output
        assert len(sink.messages) == 3 and sink.messages[0]["title"] == "publisher: test alert"


def test_a_url_written_into_notify_is_refused_without_repeating_it(tmp_path):
    secret = "ntfy://ntfy.sh/super-secret-topic-9f8e7d"
    path = tmp_path / "schedule.yaml"
    path.write_text(f"timezone: UTC\nnotify:\n  targets: ['{secret}']\n", encoding="utf-8")
    with pytest.raises(Exception) as exc:
        load_schedule(path)
    assert "notify.targets[0]" in str(exc.value) and "NAME of an environment variable" in str(exc.value)
    assert "super-secret" not in str(exc.value)


def test_the_daemon_alerts_once_when_the_schedule_becomes_unusable(tmp_path, monkeypatch):
    from publisher.daemon.daemon import ManualClock, build_daemon

    path = write_schedule(tmp_path, notify="notify:\n  targets: [ALERTS]\n")
    db = tmp_path / "q.db"
    with AlertSink() as sink:
        monkeypatch.setenv("ALERTS", sink.url)
        for key, value in CREDS.items():
            monkeypatch.setenv(key, value)
        clock = ManualClock(dt.datetime(2024, 6, 14, 0, 0, tzinfo=UTC))
        with build_daemon(path, clock=clock, db=db, ingest=lambda *a: None) as daemon:
            daemon.run_once()
            assert sink.messages == []
            path.write_text(path.read_text(encoding="utf-8").replace("daily_quota", "daily_qouta"), encoding="utf-8")
            os.utime(path, (1, 1))
            clock.advance(minutes=2)
            daemon.run_once()
            clock.advance(minutes=2)
            daemon.run_once()
        assert len(sink.messages) == 1, sink.messages
        assert "daily_qouta: unknown key" in sink.messages[0]["message"]
        assert "previous schedule stays in force" in sink.messages[0]["message"]


# --- the truth in approve, queue and schedule -------------------------------------------------------


def _next_nine(now: dt.datetime) -> str:
    schedule = parse_schedule(SCHEDULE.format(quota=17, extra=""))
    slot = next(next_slots(schedule, now))
    return slot.local.strftime("%a %Y-%m-%d %H:%M") + " Asia/Shanghai"


def test_approve_says_the_slot_expected_to_take_it(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    pub = store(outbox, tmp_path / "a").publications[0]
    result = invoke("approve", str(pub))
    assert result.exit_code == 0, result.output
    expected = _next_nine(dt.datetime.now(UTC))
    assert f"expected to go out in x/newsroom's slot of {expected}" in result.output
    assert "est. $0.230 on X (3 posts, 1 with a link)" in result.output
    second = store(outbox, tmp_path / "b", title="第二篇").publications[0]
    result = invoke("approve", str(second))
    later = _next_nine(dt.datetime.now(UTC) + dt.timedelta(days=1))
    assert f"slot of {later} (1 thread goes out before it)" in result.output, result.output


@pytest.mark.parametrize("extra, quota, env, says", [
    ("", 17, {}, "x/newsroom cannot post: missing environment variable X_API_KEY"),
    ("", 2, CREDS, "it has 3 posts, more than x/newsroom's daily quota of 2: it can never go out whole"),
])
def test_approve_says_why_no_slot_will_take_it(tmp_path, outbox, monkeypatch, extra, quota, env, says):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    write_schedule(tmp_path, quota=quota, extra=extra)
    pub = store(outbox, tmp_path / "a").publications[0]
    result = invoke("approve", str(pub))
    assert result.exit_code == 0 and says in result.output, result.output


def test_approve_with_a_platform_without_slots_says_so(tmp_path, outbox, creds):
    (tmp_path / "schedule.yaml").write_text("timezone: Asia/Shanghai\nplatforms:\n  x: {}\n", encoding="utf-8")
    pub = store(outbox, tmp_path / "a").publications[0]
    result = invoke("approve", str(pub))
    assert "x has no slots in schedule.yaml: no slot will take it" in result.output
    assert f"`publisher publish {pub}`" in result.output


def test_threads_approved_for_a_time_appear_in_schedule(tmp_path, outbox, creds):
    write_schedule(tmp_path)
    pub = store(outbox, tmp_path / "a", title="定时发布").publications[0]
    at = dt.datetime(2024, 6, 14, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    outbox.approve(pub, at, now=dt.datetime(2024, 6, 14, 0, 0, tzinfo=UTC))
    result = invoke("schedule", "--now", "2024-06-14T08:00", "--days", "1")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "定时发布" in line)
    assert "Fri 2024-06-14 14:30 CST" in line and f"publication {pub}" in line and "set time" in line
    assert "est. $0.230" in line
    data = json.loads(invoke("schedule", "--now", "2024-06-14T08:00", "--days", "1", "--json").output)
    assert data["timed"][0]["publication_id"] == pub and data["timed"][0]["at"] == "2024-06-14T14:30:00+08:00"


def _queue_fixture(tmp_path: Path) -> tuple[int, str]:
    with Outbox.open() as outbox:
        long_title = "快手「可灵」爆火，海外AI圈炸了：人人都能用的文生视频大模型来了，还要排队多久才能用上"
        for i in range(3):
            pub = store(outbox, tmp_path / "a", name=f"{i}.md", title=long_title + str(i)).publications[0]
        outbox.approve(pub)
        outbox.claim(pub)
        for i in range(3):
            outbox.begin_post(pub, i)
            outbox.record_post(pub, i, PostRef(id=f"17900000000000000{i}", url=f"https://x.com/i/status/17900000000000000{i}"))
        return pub, long_title


@pytest.mark.parametrize("columns", [80, 120])
def test_the_queue_table_fits_the_terminal_in_cells_and_posted_rows_show_time_and_link(tmp_path, columns):
    posted, title = _queue_fixture(tmp_path)
    proc = run_cli("queue", "--all", env=subprocess_env(COLUMNS=str(columns), TZ="UTC"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(cell_len(line) <= columns for line in lines), [(cell_len(x), x) for x in lines if cell_len(x) > columns]
    row = next(line for line in lines if line.lstrip().startswith(f"{posted} "))
    assert "posted" in row and "3/3" in row and "…" in row  # the title is cut to the width, with an ellipsis
    today = dt.datetime.now().astimezone().strftime("%Y-%m-%d")
    assert today in row  # when it went out
    link = "https://x.com/i/status/179000000000000000"
    if columns >= 120:
        assert link in proc.stdout  # and where
    else:  # folded under the title at 80 columns (a terminal keeps it one clickable link)
        assert link[:20] in proc.stdout
    data = json.loads(run_cli("queue", "--all", "--json", cwd=tmp_path).stdout)["publications"]
    assert next(p for p in data if p["id"] == posted)["link"] == link


# --- quota and cost -------------------------------------------------------------------------------


def test_publish_by_hand_refuses_to_exceed_the_quota_unless_told(tmp_path, outbox, monkeypatch):
    write_schedule(tmp_path, quota=1)
    pub = store(outbox, tmp_path / "a", n_posts=2).publications[0]
    outbox.approve(pub)
    with FakeX() as fake, fake.installed():
        for key, value in x_env(fake).items():
            monkeypatch.setenv(key, value)
        result = invoke("publish", str(pub))
        assert result.exit_code == 1
        assert ("publication 1 has 2 posts to send and x/newsroom has 1 of its daily quota of 1 left" in result.output
                and "--ignore-quota" in result.output), result.output
        assert fake.received == [] and outbox.get(pub).state == "approved"
        result = invoke("publish", str(pub), "--ignore-quota")
        assert result.exit_code == 0, result.output
        assert "posting anyway (--ignore-quota)" in result.output
        assert len(fake.tweets) == 2


def test_the_x_cost_is_computed_in_one_place_and_can_be_overridden(tmp_path):
    from publisher.schedule.cost import Prices, estimate, has_url
    from publisher.lengths import url_spans

    texts = ["第一条 no link", "see https://example.com/a", "a bare example.com link", "Node.js 3.14 e.g. i.e."]
    assert [has_url(t) for t in texts] == [bool(url_spans(t)) for t in texts] == [False, True, True, False]
    assert estimate("x", texts).dollars == pytest.approx(0.015 * 2 + 0.20 * 2)
    assert estimate("mastodon", texts).dollars == 0
    schedule = parse_schedule("timezone: UTC\ncosts:\n  x: {post: 0.01, post_with_url: 0.1}\n")
    assert estimate("x", texts, Prices.of(schedule)).dollars == pytest.approx(0.22)


def test_a_daily_budget_holds_a_thread_back_like_the_quota(tmp_path, outbox, creds):
    write_schedule(tmp_path, extra="        daily_budget: 0.2")
    store(outbox, tmp_path / "a", title="太贵了").publications[0]  # 3 posts, one with a link: $0.23
    outbox.approve(1, now=dt.datetime(2024, 6, 13, 0, 0, tzinfo=UTC))
    data = json.loads(invoke("schedule", "--now", "2024-06-14T08:00", "--days", "1", "--json").output)
    slot = data["slots"][0]
    assert slot["outcome"] == "budget" and "$0.230" in slot["detail"] and "$0.20 daily budget" in slot["detail"]
    cheap = store(outbox, tmp_path / "b", texts=["hook", "point", "credits, no link"]).publications[0]
    outbox.approve(cheap, now=dt.datetime(2024, 6, 13, 0, 1, tzinfo=UTC))
    data = json.loads(invoke("schedule", "--now", "2024-06-14T08:00", "--days", "1", "--json").output)
    assert data["slots"][0]["publication_id"] == cheap  # the cheaper thread behind it goes first


# --- one zone ---------------------------------------------------------------------------------------


def test_a_rate_limit_note_is_in_the_schedule_zone(tmp_path, outbox):
    (tmp_path / "schedule.yaml").write_text("timezone: America/New_York\n", encoding="utf-8")
    pub = store(outbox, tmp_path / "a").publications[0]
    outbox.approve(pub)
    outbox.claim(pub)
    outbox.begin_post(pub, 0)
    reset = dt.datetime(2030, 6, 14, 16, 30, tzinfo=UTC)
    after = record_failure(outbox, pub, 0, RateLimited("x", "429", reset_at=reset))
    assert "rescheduled for 2030-06-14 12:30 EDT" in after.note, after.note


def test_log_lines_carry_the_schedule_zone(monkeypatch):
    from publisher import clock as zone
    from publisher.clock import ZoneFormatter

    from zoneinfo import ZoneInfo

    zone.set_display(ZoneInfo("Asia/Shanghai"), "Asia/Shanghai")
    record = logging.LogRecord("publisher", logging.INFO, __file__, 1, "slot", None, None)
    record.created = dt.datetime(2024, 6, 14, 1, 0, tzinfo=UTC).timestamp()
    line = ZoneFormatter("%(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z").format(record)
    assert line == "2024-06-14T09:00:00+0800 slot"


def test_show_names_the_account_as_schedule_does(tmp_path, outbox):
    write_schedule(tmp_path)
    pub = store(outbox, tmp_path / "a").publications[0]
    assert invoke("show", str(pub)).output.startswith(f"Publication {pub} · x/newsroom · draft")


def test_a_401_hint_names_the_accounts_own_variables(tmp_path, outbox, monkeypatch):
    env = ("        env: {api_key: NEWSROOM_X_API_KEY, api_secret: NEWSROOM_X_API_SECRET, "
           "access_token: NEWSROOM_X_ACCESS_TOKEN, access_token_secret: NEWSROOM_X_ACCESS_TOKEN_SECRET}")
    write_schedule(tmp_path, extra=env)
    with FakeX() as fake, fake.installed():
        for key, value in x_env(fake).items():
            monkeypatch.setenv("NEWSROOM_" + key, value)
        monkeypatch.setenv("NEWSROOM_X_API_SECRET", "wrong")
        result = invoke("accounts", "check", "x")
    assert result.exit_code == 1
    assert "NEWSROOM_X_API_KEY, NEWSROOM_X_API_SECRET, NEWSROOM_X_ACCESS_TOKEN and NEWSROOM_X_ACCESS_TOKEN_SECRET" \
        in result.output
    assert "check X_API_KEY" not in result.output


def test_ingest_skips_a_file_that_is_not_chinese_as_translate_does(tmp_path):
    english = tmp_path / "en.md"
    english.write_text("---\ntitle: Hello\n---\n\nKuaishou released Kling. It is the talk of the town.\n",
                       encoding="utf-8")
    proc = run_cli("ingest", str(english), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"skipped {english}: not Chinese" in proc.stderr
    assert "0 queued, 0 unchanged, 1 skipped, 0 failed" in proc.stderr


# --- progress -------------------------------------------------------------------------------------


def test_progress_counts_sentences_and_changes_nothing_in_the_output():
    from rich.console import Console

    from publisher.progress import Progress, ProgressTranslator
    from publisher.translate.base import FakeTranslator

    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    inner = FakeTranslator({f"句子{i}": f"sentence {i}" for i in range(40)})
    seen = []
    with Progress(2, console=console) as bar:
        wrapped = ProgressTranslator(inner, bar, chunk=16)
        original = bar.sentences
        bar.sentences = lambda done, total: (seen.append((done, total)), original(done, total))  # type: ignore
        out = wrapped.translate_sentences([f"句子{i}" for i in range(40)])
        bar.file_done()
    assert out == [f"sentence {i}" for i in range(40)]
    assert seen == [(0, 40), (16, 40), (32, 40), (40, 40)]
    assert [len(c) for c in inner.calls] == [16, 16, 8]
    assert wrapped.name == "fake" and wrapped.version == "1"  # the cache key is the model's


def test_no_progress_when_not_a_terminal_or_with_json(tmp_path):
    article = make_article(tmp_path / "in", "a.md")
    for args in ([], ["--json"]):
        proc = run_cli("ingest", str(article.path), *args, env=subprocess_env(
            PUBLISHER_MODELS_DIR=str(tmp_path / "none")), cwd=tmp_path)
        assert "ingesting" not in proc.stderr and "\x1b[" not in proc.stderr and "sentences" not in proc.stderr


# --- a correction replies to the thread it corrects ------------------------------------------------


def test_a_correction_of_a_posted_article_goes_out_as_a_reply_to_the_original_thread(tmp_path, outbox, monkeypatch):
    from factories import write_article
    from publisher.app import Pipeline, ingest_file
    from publisher.platforms.x import XPlatform
    from publisher.publishing.publish import publish_publication
    from publisher.translate.base import FakeTranslator

    body = "快手发布了可灵。它可以生成两分钟的视频。很多人在排队。"
    path = write_article(tmp_path / "in", "a.md", body=body)
    pipeline = Pipeline(translator=FakeTranslator())
    with FakeX() as fake, fake.installed():
        for key, value in x_env(fake).items():
            monkeypatch.setenv(key, value)
        first = ingest_file(path, outbox, pipeline, ("x",)).publications[0]
        outbox.approve(first)
        assert publish_publication(outbox, first, XPlatform.from_env()).complete
        original = list(fake.tweets)
        write_article(tmp_path / "in", "a.md", body=body.replace("两分钟", "三分钟"))  # the correction
        second = ingest_file(path, outbox, pipeline, ("x",))
        assert second.revision == 2 and second.earlier_posted == (first,)
        fix = second.publications[0]
        assert outbox.get(fix).state == "draft"  # still waits for a person
        shown = invoke("show", str(fix)).output
        assert f"a correction of publication {first}: it goes out as a reply to that thread" in shown
        assert "word for word as already posted" in shown and f"`publisher edit {fix}`" in shown
        # The operator says what changed (X refuses a post identical to one on the account).
        from publisher.publishing.editing import edit_publication
        from publisher.queue.records import EditedPost

        posts = outbox.thread(fix).posts
        edit_publication(outbox, fix, [EditedPost(("Correction: " + p.text) if p.role != "attribution" else
                                     p.text.replace("Machine-translated", "Corrected, machine-translated"), p.role)
                          for p in posts])
        approved = invoke("approve", str(fix)).output
        assert f"It is a correction of publication {first}" in approved
        assert "word for word" not in approved
        dry = invoke("publish", str(fix), "--dry-run").output
        assert f"in reply to {original[-1].id}" in dry and "as a new thread" not in dry
        assert publish_publication(outbox, fix, XPlatform.from_env()).complete
        replies = fake.tweets[len(original):]
        assert replies[0].in_reply_to == original[-1].id  # under the original thread, not a new one
        assert [t.in_reply_to for t in replies[1:]] == [t.id for t in replies[:-1]]


def test_a_database_the_daemon_cannot_write_is_one_alert_not_a_crash(tmp_path, monkeypatch, caplog):
    from publisher.cockpit.monitor import Monitor

    schedule = parse_schedule("timezone: UTC\nnotify:\n  targets: [ALERTS]\n", tmp_path / "schedule.yaml")
    outbox = Outbox.open(tmp_path / "q.db")
    with AlertSink() as sink:
        monkeypatch.setenv("ALERTS", sink.url)
        monitor = Monitor(outbox, schedule=lambda: schedule, schedule_file="schedule.yaml",
                          clock=lambda: dt.datetime.now(UTC))
        monitor.beat()
        assert sink.messages == []
        outbox.db.execute("PRAGMA query_only = ON")  # writes now fail as on a full or read-only disk
        with caplog.at_level(logging.ERROR, logger="publisher.cockpit.monitor"):
            for _ in range(3):
                monitor.beat()  # never raises
        assert len(sink.messages) == 1, sink.messages
        assert "cannot be written" in sink.messages[0]["message"] and "q.db" in sink.messages[0]["message"]
        assert caplog.text.count("cannot be written") == 1
    outbox.close()


def test_a_thread_set_for_a_time_uses_the_quota_of_the_slots_after_it(tmp_path, outbox, creds):
    write_schedule(tmp_path, quota=4)
    timed = store(outbox, tmp_path / "a", title="定时").publications[0]
    waiting = store(outbox, tmp_path / "b", title="排队").publications[0]
    day_before = dt.datetime(2024, 6, 13, 0, 0, tzinfo=UTC)
    outbox.approve(timed, dt.datetime(2024, 6, 14, 0, 30, tzinfo=UTC), now=day_before)  # 08:30 Shanghai
    outbox.approve(waiting, now=day_before)
    data = json.loads(invoke("schedule", "--now", "2024-06-14T08:00", "--days", "2", "--json").output)
    first = data["slots"][0]
    # 3 posts at 08:30 leave 1 of 4: the 3-post thread waits for the next day's slot
    assert first["at"] == "2024-06-14T09:00:00+08:00" and first["outcome"] == "quota", first
    assert data["slots"][1]["publication_id"] == waiting
