"""A damaged environment (#11): each fault ends in a clear message, and nothing stored is lost.

Damaged pages, an empty file, the database deleted under the daemon, the lock file deleted, a
full disk (a small tmpfs), a read-only filesystem, new files' modes, backups."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from factories import store
from publisher.queue.outbox import Outbox


def _queue(path: Path, n: int = 30) -> list[int]:
    with Outbox.open(path) as box:
        ids = []
        for i in range(n):
            ids += list(store(box, path.parent / "in", f"a{i}.md", body=f"快手第{i}次发布了可灵。" * 20).publications)
        for pid in ids[: n // 2]:
            box.approve(pid)
    return ids


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(db: Path, **extra: str) -> dict[str, str]:
    return subprocess_env(PUBLISHER_DB=str(db), PUBLISHER_DEBUG="", **extra)


def _corrupt_middle_page(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek(page * (pages // 2))
        f.write(os.urandom(page))


def test_a_damaged_database_is_refused_for_writes_and_left_as_it_is(tmp_path):
    db = tmp_path / "publisher.db"
    ids = _queue(db)
    _corrupt_middle_page(db)
    before = _digest(db)
    for args in (["queue"], ["approve", str(ids[-1])], ["publish", str(ids[0])], ["ingest", str(tmp_path / "in")],
                 ["run", "--once"]):
        proc = run_cli(*args, env=_env(db), cwd=tmp_path)
        assert proc.returncode != 0, args
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert lines, (args, proc.stderr)
        assert ("damaged" in proc.stderr or "schedule" in proc.stderr), (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert _digest(db) == before  # nothing was written into the damaged file
    check = run_cli("db", "check", env=_env(db), cwd=tmp_path)
    assert check.returncode == 74 and "damaged" in check.stderr and "do not delete" in check.stderr


def test_db_check_says_ok_on_a_sound_database(tmp_path):
    db = tmp_path / "publisher.db"
    _queue(db, 3)
    proc = run_cli("db", "check", env=_env(db), cwd=tmp_path)
    assert proc.returncode == 0 and "ok" in proc.stdout


def test_a_zero_byte_database_is_not_silently_a_fresh_queue(tmp_path):
    db = tmp_path / "publisher.db"
    db.touch()
    for args in (["queue"], ["approve", "1"], ["db", "check"]):
        proc = run_cli(*args, env=_env(db), cwd=tmp_path)
        assert proc.returncode == 74, (args, proc.stderr)
        assert "empty (0 bytes)" in proc.stderr and "restore" in proc.stderr
    assert db.stat().st_size == 0


def test_backup_copies_a_live_database_and_never_overwrites(tmp_path):
    db = tmp_path / "publisher.db"
    ids = _queue(db, 4)
    target = tmp_path / "backups" / "b1.db"
    proc = run_cli("db", "backup", str(target), env=_env(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with Outbox.open(target) as copy:
        assert sorted(r.id for r in copy.rows()) == sorted(ids)
    again = run_cli("db", "backup", str(target), env=_env(db), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_the_translation_cache_is_private(tmp_path, monkeypatch):
    from publisher.translate.cache import TranslationCache

    monkeypatch.setenv("PUBLISHER_HOME", str(tmp_path / "newhome"))
    old = os.umask(0o022)
    try:
        cache = TranslationCache()
        cache.put_many("m", "1", "g", {"快手": "Kuaishou"})
        cache.close()
    finally:
        os.umask(old)
    path = tmp_path / "newhome" / "translations.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


SCHEDULE = textwrap.dedent("""\
    timezone: UTC
    scan_every: 1m
    platforms:
      x:
        slots: [{times: ["03:00"]}]
    """)


def _start(tmp_path: Path, db: Path) -> subprocess.Popen:
    (tmp_path / "schedule.yaml").write_text(SCHEDULE, encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "publisher", "run", "--schedule", str(tmp_path / "schedule.yaml")],
                            env=_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path))


def _wait_started(proc: subprocess.Popen, lock: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            time.sleep(1.0)
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    raise AssertionError("the daemon did not start")


@pytest.mark.slow
def test_the_database_deleted_under_the_daemon_stops_it_loudly(tmp_path):
    db = tmp_path / "publisher.db"
    _queue(db, 2)
    proc = _start(tmp_path, db)
    try:
        _wait_started(proc, Path(str(db) + ".lock"))
        for f in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
            f.unlink(missing_ok=True)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 74, err
    assert "deleted" in err and "restore" in err and "Traceback" not in err
    assert not db.exists()  # no fresh empty queue made in its place


@pytest.mark.slow
def test_deleting_the_lock_file_does_not_let_a_second_run_in(tmp_path):
    db = tmp_path / "publisher.db"
    _queue(db, 1)
    proc = _start(tmp_path, db)
    lock = Path(str(db) + ".lock")
    try:
        _wait_started(proc, lock)
        lock.unlink()
        second = run_cli("run", "--once", "--schedule", str(tmp_path / "schedule.yaml"), env=_env(db), cwd=tmp_path)
        assert second.returncode == 75, second.stderr
        assert "another publisher run" in second.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _can_mount() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if not _can_mount() or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                          capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_says_disk_full_and_loses_nothing(tmp_path, small_disk):
    db = small_disk / "publisher.db"
    ids = _queue(db, 3)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk to the last byte
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    try:
        proc = run_cli("approve", str(ids[-1]), env=_env(db), cwd=tmp_path)
        assert proc.returncode == 74, proc.stderr
        assert "disk" in proc.stderr and "full" in proc.stderr and "nothing was lost" in proc.stderr
        assert "not a usable" not in proc.stderr and "Traceback" not in proc.stderr
    finally:
        filler.unlink()
    with Outbox.open(db) as box:
        assert sorted(r.id for r in box.rows()) == sorted(ids)
        assert box.get(ids[-1]).state == "draft"
    assert run_cli("approve", str(ids[-1]), env=_env(db), cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_queue_and_show_work_on_a_read_only_filesystem(tmp_path, small_disk):
    db = small_disk / "publisher.db"
    ids = _queue(db, 2)
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    queue = run_cli("queue", env=_env(db), cwd=tmp_path)
    assert queue.returncode == 0, queue.stderr
    assert all(str(i) in queue.stdout for i in ids)
    show = run_cli("show", str(ids[0]), env=_env(db), cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    approve = run_cli("approve", str(ids[-1]), env=_env(db), cwd=tmp_path)
    assert approve.returncode != 0 and approve.stderr.startswith("error:") and "Traceback" not in approve.stderr
