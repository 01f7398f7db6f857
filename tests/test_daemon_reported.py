"""A bad article file is reported once per version ACROSS runs: cron's `publisher run --once`
every few minutes must not repeat the same error line each time (the scanner's own memory lasts
one process; the database remembers what was reported)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import textwrap
import time
from pathlib import Path

from conftest import run_cli, subprocess_env
from publisher.daemon.daemon import Daemon
from publisher.daemon.records import IngestResult
from publisher.daemon.sources import ScheduleWatcher
from publisher.queue.ledger import ReportedFiles, SlotLedger
from publisher.testing import ManualClock
from publisher.errors import InputError
from publisher.schedule.config import UTC
from publisher.testing import MemoryScheduleStore

NOW = dt.datetime(2024, 6, 14, 1, tzinfo=UTC)
SCHEDULE = textwrap.dedent("""\
    timezone: UTC
    sources:
      - {path: inbox, platforms: [x]}
    platforms:
      x:
        slots: [{times: ["09:00"]}]
    """)


def settle(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


def _daemon(tmp_path: Path, ingest) -> Daemon:
    """A new Daemon, as a new `--once` process would make, on the same database."""
    clock = ManualClock(NOW)
    return Daemon(watcher=ScheduleWatcher(tmp_path / "schedule.yaml"), store=MemoryScheduleStore(), publish=None,  # type: ignore[arg-type]
                  ingest=ingest, ledger=SlotLedger(tmp_path / "q.db"), clock=clock)


def _errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def reported_once(lines: list[str], path: Path) -> bool:
    return lines == [f"ingest {path}: not UTF-8 text (GBK?)"]


def test_a_bad_file_is_reported_once_across_runs_and_again_when_it_changes(tmp_path, caplog):
    (tmp_path / "schedule.yaml").write_text(SCHEDULE, encoding="utf-8")
    bad = tmp_path / "inbox" / "bad.md"
    bad.parent.mkdir()
    bad.write_bytes(b"\xd6\xd0\xce\xc4")
    settle(bad)

    def ingest(path, source, now):
        data = path.read_bytes()
        if data.startswith(b"\xd6"):
            raise InputError(path, "not UTF-8 text (GBK?)")
        return IngestResult("new", article_id=1, publication_ids=(1,))

    def run() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="publisher"):
            _daemon(tmp_path, ingest).scan()
        return _errors(caplog)

    assert reported_once(run(), bad)
    assert run() == []  # the next cron run: already reported
    bad.write_bytes(b"\xd6\xd0\xce\xc4\xd6\xd0")  # another bad version: news
    settle(bad)
    assert reported_once(run(), bad)
    assert run() == []
    bad.write_text("fixed", encoding="utf-8")
    settle(bad)
    assert run() == []
    bad.write_bytes(b"\xd6\xd0\xce\xc4")  # the first bad version again, after a good one: news again
    settle(bad)
    assert reported_once(run(), bad)


def test_reported_files_key_on_content_and_message(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("x", encoding="utf-8")
    reported = ReportedFiles(tmp_path / "q.db")
    assert reported.first_report(path, "problem", NOW)
    assert not ReportedFiles(tmp_path / "q.db").first_report(path, "problem", NOW)  # another process
    assert ReportedFiles(tmp_path / "q.db").first_report(path, "another problem", NOW)
    os.utime(path, (1, 1))  # touched, same bytes: still the same version
    assert not ReportedFiles(tmp_path / "q.db").first_report(path, "another problem", NOW)


def test_cli_once_from_cron_reports_a_bad_file_once(tmp_path):
    (tmp_path / "schedule.yaml").write_text(SCHEDULE, encoding="utf-8")
    bad = tmp_path / "inbox" / "bad.md"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00\x01\x02binary")
    settle(bad)
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "q.db"))
    first = run_cli("run", "--once", "--schedule", str(tmp_path / "schedule.yaml"), env=env)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stderr.splitlines() if "bad.md" in line]
    assert len(lines) == 1 and " ERROR " in lines[0], first.stderr
    second = run_cli("run", "--once", "--schedule", str(tmp_path / "schedule.yaml"), env=env)
    assert second.returncode == 0, second.stderr
    assert "bad.md" not in second.stderr
    verbose = run_cli("run", "--once", "-v", "--schedule", str(tmp_path / "schedule.yaml"), env=env)
    assert "still failing, already reported" in verbose.stderr  # -v still shows it
