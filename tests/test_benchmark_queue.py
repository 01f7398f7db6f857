"""benchmarks/queue.py runs (small, untimed): its figures include the daemon's real slot path, and
the script's name does not shadow the standard library's queue module for the code it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env


@pytest.mark.slow
def test_the_queue_benchmark_runs_and_times_the_daemon_s_slot_path(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "queue.py"), "--threads", "200", "--repeat", "1"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "claim_next('x', now, max_posts=17)" in out  # the existing figures stay
    assert "the daemon's slot path" in out
    for step in ("waiting (due + filter)", "decide", "claim(id)", "slot decision + claim (sum)",
                 "Daemon.tick() with ledger writes"):
        assert step in out, out


@pytest.mark.slow
def test_the_queue_benchmark_runs_on_postgresql_beside_sqlite(tmp_path, pg_url):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "queue.py"), "--threads", "100", "--repeat", "1",
                           "--postgres", pg_url], env=subprocess_env(), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "== SQLite ==" in out and "== PostgreSQL ==" in out
    side = out.split("side by side", 1)[1]
    for row in ("list: queue", "claim: claim_next + release", "tick: Daemon.tick() with ledger writes"):
        assert row in side, out
