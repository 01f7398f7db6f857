"""The queue on PostgreSQL: `publisher db migrate`, `publisher db copy`, and one line for each way
a server can be unusable. The outbox's contract itself runs on both backends in test_outbox.py,
test_publish.py, test_publish_x.py, test_outbox_cli.py and test_queue_fixes.py (``db_target``)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3

import pytest
from conftest import run_cli, subprocess_env
from factories import store

from publisher.queue.outbox import Outbox
from publisher.platforms.dryrun import DryRunPlatform
from publisher.publishing.publish import publish_publication

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)


def dump(box: Outbox, table: str) -> list[tuple]:
    return sorted(tuple(r) for r in box.db.execute(f"SELECT * FROM {table}"))


def test_db_migrate_creates_the_schema_once(pg_url):
    first = run_cli("db", "migrate", pg_url, "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["applied"][0] == "m001_initial" and data["applied"] == data["migrations"]
    assert "postgresql://postgres@" in data["database"]
    again = run_cli("db", "migrate", env=subprocess_env(PUBLISHER_DB=pg_url))
    assert again.returncode == 0 and "up to date" in again.stdout, again.stderr


def _filled_sqlite(tmp_path) -> tuple[object, dict[str, int]]:
    path = tmp_path / "old.db"
    with Outbox.open(path) as box:
        ids = [store(box, tmp_path / "in", f"{n}.md", n_posts=3, platforms=("x", "mastodon")).publications
               for n in "abc"]
        for pub in ids[0] + ids[1]:
            box.approve(pub, now=NOW)
        publish_publication(box, ids[0][0], DryRunPlatform(), now=NOW)  # posted: post_results + events
        gone = Outbox(box.db, box.path, owner=f"{socket.gethostname()}:999999999:1")  # not running here
        gone.claim(ids[1][0], NOW)
        gone.begin_post(ids[1][0], 0, now=NOW)  # a process that died mid-post
        box.reject(ids[2][0], "not for us", now=NOW)
        box.block_account("mastodon", "token revoked", now=NOW)
        box.db.execute("INSERT INTO schedule_slots (platform, slot_at, handled_at, outcome) "
                       "VALUES ('x', '2024-06-14T08:00:00Z', '2024-06-14T08:00:01Z', 'posted')")
        box.db.execute("INSERT INTO reported_files (path, content_hash, message, reported_at) "
                       "VALUES ('/in/bad.md', 'abc', 'empty file', '2024-06-14T08:00:00Z')")
        counts = {t: box.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("articles", "threads", "thread_posts", "publications", "post_results", "events")}
    return path, counts


def test_db_copy_moves_everything_keeps_ids_and_continues_the_ids(tmp_path, pg_url):
    path, counts = _filled_sqlite(tmp_path)
    assert counts["post_results"] == 3 and counts["events"] > 10
    done = run_cli("db", "copy", f"sqlite:///{path}", pg_url)
    assert done.returncode == 0, done.stderr
    assert "copied" in done.stdout and "post_results" in done.stdout
    with Outbox.open(path) as old, Outbox.open(pg_url) as new:
        for table in ("articles", "translations", "threads", "thread_posts", "publications", "post_results",
                      "events", "accounts", "schedule_slots", "reported_files"):
            assert dump(new, table) == dump(old, table), table
        # the copied claim of a dead process is settled on the server like anywhere else
        (settled,) = new.recover(NOW)
        assert settled.state == "needs_attention" and settled.unknown_post == 1
        # new rows continue after the copied ids (setval), in every table with an id
        last_article = new.db.execute("SELECT max(id) FROM articles").fetchone()[0]
        last_pub = new.db.execute("SELECT max(id) FROM publications").fetchone()[0]
        ing = store(new, tmp_path / "in", "d.md")
        assert ing.article_id == last_article + 1 and ing.publications[0] == last_pub + 1
        assert new.history(ing.publications[0])[0].to_state == "draft"
        assert new.account_state("mastodon").blocked_reason == "token revoked"
    # a target that holds anything is refused, and nothing is written to it
    before = run_cli("db", "copy", str(path), pg_url)
    assert before.returncode == 1
    assert before.stderr.strip().startswith("error: ") and "not empty" in before.stderr
    assert len(before.stderr.strip().splitlines()) == 1


def test_db_copy_back_to_sqlite_round_trips(tmp_path, pg_url):
    path, _ = _filled_sqlite(tmp_path)
    assert run_cli("db", "copy", str(path), pg_url).returncode == 0
    back = tmp_path / "back.db"
    done = run_cli("db", "copy", pg_url, f"sqlite:///{back}")
    assert done.returncode == 0, done.stderr
    with Outbox.open(path) as old, Outbox.open(back) as new:
        for table in ("articles", "threads", "thread_posts", "publications", "post_results", "events"):
            assert dump(new, table) == dump(old, table), table


def test_an_unreachable_server_is_one_line(tmp_path):
    url = f"postgresql://desk@/publisher?host={tmp_path}&port=5999&connect_timeout=3"
    proc = run_cli("queue", env=subprocess_env(PUBLISHER_DB=url))
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {url}: the database server is unreachable")


def test_a_role_without_rights_is_one_line_that_says_what_to_do(pg_server):
    import psycopg

    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS desk")
        conn.execute("CREATE ROLE desk LOGIN")
        conn.execute("CREATE DATABASE desk_db OWNER postgres")
    url = pg_server.url.replace("postgres@/postgres", "desk@/desk_db")
    proc = run_cli("db", "migrate", url)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "lacks rights" in line and "permission denied for schema public" in line
    assert "CREATE SCHEMA publisher AUTHORIZATION" in line
    # the fix it names works
    with psycopg.connect(pg_server.url.replace("/postgres?", "/desk_db?"), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA publisher AUTHORIZATION desk")
    fixed = run_cli("db", "migrate", url + "&options=-csearch_path%3Dpublisher")
    assert fixed.returncode == 0, fixed.stderr
    unknown = run_cli("db", "migrate", pg_server.url.replace("postgres@", "nobody@"))
    (line,) = unknown.stderr.strip().splitlines()
    assert unknown.returncode == 1 and 'the role does not exist' in line and '"nobody"' in line


def test_a_schema_newer_than_the_code_is_refused(pg_url):
    Outbox.open(pg_url).close()
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO migrations (name, applied_at) VALUES ('m099_future', 'x')")
    proc = run_cli("queue", env=subprocess_env(PUBLISHER_DB=pg_url))
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "written by a newer publisher" in line and "m099_future" in line


def test_append_only_tables_refuse_truncate_on_postgresql(pg_url, tmp_path):
    with Outbox.open(pg_url) as box:
        store(box, tmp_path / "in")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            box.db.execute("TRUNCATE events CASCADE")


SCHEDULE = """\
timezone: Asia/Shanghai
platforms:
  x:
    accounts:
      main:
        daily_quota: 10
    slots:
      - days: daily
        times: ["09:00"]
"""


def test_one_publisher_run_per_database_across_hosts_by_advisory_lock(tmp_path, pg_url):
    import signal
    import subprocess
    import sys

    from publisher.queue.pgstore import AdvisoryDaemonLock

    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    env = subprocess_env(PUBLISHER_DB=pg_url, X_API_KEY="k", X_API_SECRET="s", X_ACCESS_TOKEN="t",
                         X_ACCESS_TOKEN_SECRET="u")
    with AdvisoryDaemonLock(pg_url):
        proc = run_cli("run", "--once", "--schedule", str(schedule), env=env)
    assert proc.returncode == 75, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert f"another publisher run ({socket.gethostname()}:" in line and "only one may post at a time" in line
    # a holder that is SIGKILLed leaves no lock behind: the server ends its session
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from publisher.queue.pgstore import AdvisoryDaemonLock; "
                               f"lock = AdvisoryDaemonLock({pg_url!r}).acquire(); print('held', flush=True); sys.stdin.read()"],
                              env=subprocess_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run_cli("run", "--once", "--schedule", str(schedule), env=env).returncode == 75
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    proc = run_cli("run", "--once", "--schedule", str(schedule), "--now", "2024-06-14T09:00", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "x: slot 2024-06-14 09:00:00 CST: idle: nothing approved" in proc.stderr
    proc = run_cli("run", "--once", "--schedule", str(schedule), "--now", "2024-06-14T09:01", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "slot" not in proc.stderr  # the 09:00 slot is used up, in the server's ledger
    assert "Traceback" not in proc.stderr and "pool" not in proc.stderr.lower(), proc.stderr
    with Outbox.open(pg_url) as box:
        assert box.db.execute("SELECT platform, slot_at, outcome FROM schedule_slots").fetchall() == [
            ("x", "2024-06-14T01:00:00Z", "idle")]


def test_a_frozen_lock_holder_loses_the_lock_and_stops_when_it_wakes(pg_url):
    import signal
    import subprocess
    import sys
    import time

    from publisher.daemon.daemon import LockHeld
    from publisher.queue.pgstore import AdvisoryDaemonLock

    code = ("import sys, time; from publisher.queue.pgstore import AdvisoryDaemonLock; "
            f"lock = AdvisoryDaemonLock({pg_url!r}).acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], env=subprocess_env(PUBLISHER_PG_LEASE="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld):
            AdvisoryDaemonLock(pg_url).acquire()
        holder.send_signal(signal.SIGSTOP)  # a host that hangs
        deadline = time.monotonic() + 10
        while True:
            try:
                lock = AdvisoryDaemonLock(pg_url, on_lost=lambda _: None).acquire()
                break
            except LockHeld:
                assert time.monotonic() < deadline, "the frozen holder kept the lock"
                time.sleep(0.1)
        holder.send_signal(signal.SIGCONT)  # it wakes up: its session is gone, so it stops itself
        holder.wait(10)
        assert holder.returncode == -signal.SIGTERM
        assert "lost the lock" in holder.stderr.read()
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_literal_percent_means_the_same_with_and_without_parameters(pg_url):
    with Outbox.open(pg_url) as box:
        assert box.db.execute("SELECT 'a%b' LIKE 'a\\%b' ESCAPE '\\', '50%'").fetchone() == (True, "50%")
        assert box.db.execute("SELECT ? || '%', 'x' LIKE ?", ("10", "%")).fetchone() == ("10%", True)


def test_a_run_whose_lock_session_the_server_ended_stops_with_exit_75(pg_url, monkeypatch):
    import time

    import psycopg

    from publisher.queue import pgstore

    monkeypatch.setattr(pgstore, "LEASE", 0.4)  # the keeper looks every 0.1 s
    noticed = []
    lock = pgstore.AdvisoryDaemonLock(pg_url, on_lost=noticed.append).acquire()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                      (pgstore.DAEMON_LOCK & 0xFFFFFFFF,))
    deadline = time.monotonic() + 5
    while not noticed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert noticed == [lock] and lock.lost
    with pytest.raises(pgstore.LockLost, match="lost its lock") as caught:
        lock.__exit__(None, None, None)
    assert caught.value.exit_code == 75
