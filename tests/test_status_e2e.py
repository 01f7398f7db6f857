"""The operator's cockpit end to end: the real `publisher run` in a subprocess on the real clock,
the fake X answering 401, `publisher status` as a monitoring check, and one alert through
apprise to a loopback json:// target."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alert_sink import AlertSink
from conftest import subprocess_env
from factories import make_article, make_thread, make_translated
from fake_x import CLI_BOOTSTRAP, FakeX, x_env
from publisher.queue.outbox import Outbox

TESTS = Path(__file__).parent
ZONE = "Asia/Shanghai"

SCHEDULE = """\
timezone: {zone}
scan_every: 1s
notify:
  targets: [PUBLISHER_ALERT_URL]
platforms:
  x:
    accounts:
      main:
        daily_quota: 17
    slots:
      - days: daily
        times: ["{slot}"]
"""


def _cli(tmp_path: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI_BOOTSTRAP, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(tmp_path))


def _start(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI_BOOTSTRAP, "run", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))


def _wait(predicate, proc: subprocess.Popen, timeout: float = 40, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited: {proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return err


@pytest.mark.slow
def test_a_401_stops_the_account_status_says_so_one_alert_goes_out_and_a_fixed_account_is_green(tmp_path):
    zone = ZoneInfo(ZONE)
    slot = (dt.datetime.now(zone) + dt.timedelta(seconds=6)).strftime("%H:%M:%S")
    (tmp_path / "schedule.yaml").write_text(SCHEDULE.format(zone=ZONE, slot=slot), encoding="utf-8")
    db = tmp_path / "publisher.db"
    with Outbox.open(db) as outbox:
        article = make_article(tmp_path / "articles", "a.md", title="人工智能新闻")
        pub = outbox.add_article(article, make_translated(article), {"x": make_thread(article, n_posts=2)},
                                 auto_approve=True).publications[0]

    with FakeX() as fake, AlertSink() as sink:
        good = x_env(fake)
        bad = {**good, "X_ACCESS_TOKEN_SECRET": "revoked-secret"}
        base = dict(PUBLISHER_DB=str(db), FAKE_X_URL=fake.base_url, FAKE_X_TESTS=str(TESTS),
                    PUBLISHER_ALERT_URL=sink.url)
        env_bad = subprocess_env(**base, **bad)
        env_good = subprocess_env(**base, **good)

        daemon = _start(tmp_path, env_bad)
        try:
            _wait(lambda: any(r.outcome == "unauthorized" for r in fake.received), daemon, what="the 401")
            sink.wait(1)
            time.sleep(3.5)  # several more ticks (scan_every 1s): the standing problem is not sent again
            status = _cli(tmp_path, env_bad, "status")
            assert status.returncode == 1, status.stdout + status.stderr
            assert "x/main is stopped" in status.stdout
            assert "daemon  publisher run: running" in status.stdout
            data = json.loads(_cli(tmp_path, env_bad, "status", "--json").stdout)
            assert data["daemon"]["alive"] is True and data["daemon"]["pid"] == daemon.pid
            assert data["daemon"]["host"] == socket.gethostname()
            assert data["daemon"]["schedule"] == str((tmp_path / "schedule.yaml").resolve())
            assert [p["kind"] for p in data["problems"]] == ["account_stopped"]
            assert data["problems"][0]["account"] == "main"
        finally:
            err = _stop(daemon)
        assert daemon.returncode == 0, err
        assert len(sink.messages) == 1, sink.messages
        alert = sink.messages[0]
        assert "stopped" in alert["title"]
        assert "x/main is stopped" in alert["message"] and "rejected the credentials" in alert["message"]
        assert not any(v in json.dumps(alert) for v in bad.values())  # no secret in the alert

        # Stopped cleanly: status knows the daemon is not running (not merely silent).
        stopped = _cli(tmp_path, env_good, "status", "--json")
        assert stopped.returncode == 1
        assert json.loads(stopped.stdout)["daemon"] == {**json.loads(stopped.stdout)["daemon"], "alive": False,
                                                         "note": "stopped"}

        # The operator fixes the credentials; `accounts check` passes and puts the thread back in line.
        check = _cli(tmp_path, env_good, "accounts", "check", "x")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "x: ok" in check.stdout and "back in line" in check.stdout
        daemon = _start(tmp_path, env_good)
        try:
            with Outbox.open(db) as outbox:
                _wait(lambda: outbox.get(pub).state == "posted", daemon, what="the thread to be posted")
            ok = _cli(tmp_path, env_good, "status")
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert "Nothing needs a person." in ok.stdout
        finally:
            err = _stop(daemon)
        assert len(fake.tweets) == 2
        assert len(sink.messages) == 1  # the fix sends nothing; nothing was sent twice


@pytest.mark.slow
def test_the_daemon_tells_systemd_it_is_ready_and_alive(tmp_path):
    """Type=notify: READY=1 once up, WATCHDOG=1 at every tick, STOPPING=1 on SIGTERM."""
    (tmp_path / "schedule.yaml").write_text(SCHEDULE.format(zone=ZONE, slot="03:00"), encoding="utf-8")
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(20)
    env = subprocess_env(PUBLISHER_DB=str(tmp_path / "publisher.db"), NOTIFY_SOCKET=address,
                         FAKE_X_URL="http://127.0.0.1:9", FAKE_X_TESTS=str(TESTS))
    daemon = _start(tmp_path, env)
    got: list[str] = []
    try:
        while not (any("READY=1" in m for m in got) and sum("WATCHDOG=1" in m for m in got) >= 3):
            got.append(sock.recv(4096).decode())
    finally:
        _stop(daemon)
        sock.settimeout(5)
        try:
            while True:
                got.append(sock.recv(4096).decode())
        except OSError:
            pass
        sock.close()
    assert any(m.startswith("READY=1") for m in got)
    assert any("STATUS=" in m for m in got)
    assert "STOPPING=1" in got
    os.unlink(address)
