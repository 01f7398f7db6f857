"""Fixes from the queue review: stuck claims, safe edits, one approval for all platforms, times,
rough edges of the commands. Each test runs the real outbox (a SQLite file) or the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from conftest import run_cli
from factories import store, thread_texts
from publisher.cli import cli
from publisher.errors import StoreError
from publisher.outbox import Outbox, current_owner, owner_status, parse_owner

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)
ELSEWHERE = "oldcontainer:4242:999/1"  # a claim made in a container that no longer exists


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def fails(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def outbox():
    box = Outbox.open()  # $PUBLISHER_HOME/publisher.db, as the commands use
    yield box
    box.close()


def claimed_elsewhere(outbox: Outbox, pub_id: int, *, in_flight: int | None, now: dt.datetime = NOW,
                      owner: str = ELSEWHERE) -> None:
    """Claim ``pub_id`` here (optionally with a post in flight), then make the claim look like
    another machine's, as a daemon in a container that was re-created would leave it."""
    outbox.claim(pub_id, now)
    if in_flight is not None:
        outbox.begin_post(pub_id, in_flight, now=now)
    outbox.db.execute("UPDATE publications SET owner = ? WHERE id = ?", (owner, pub_id))


# --- 1. a claim nobody here can check --------------------------------------------------------


def test_a_claim_from_another_host_is_released_by_hand_to_needs_attention(outbox, tmp_path):
    from publisher.platforms.dryrun import DryRunPlatform
    from publisher.publish import publish_publication

    pub_id = store(outbox, tmp_path / "in", n_posts=4).publications[0]
    outbox.approve(pub_id, now=NOW)
    first = DryRunPlatform()
    publish_publication(outbox, pub_id, first, now=NOW)  # all 4 sent; start again with a fresh one
    pub_id = store(outbox, tmp_path / "in", "b.md", n_posts=4).publications[0]
    outbox.approve(pub_id, now=NOW)
    # post 1 went out, then the daemon's container died while post 2 was on the wire
    outbox.claim(pub_id, NOW)
    outbox.begin_post(pub_id, 0, now=NOW)
    from publisher.platforms.base import PostRef

    outbox.record_post(pub_id, 0, PostRef(id="111"), now=NOW)
    outbox.begin_post(pub_id, 1, now=NOW)
    outbox.db.execute("UPDATE publications SET owner = ? WHERE id = ?", (ELSEWHERE, pub_id))

    assert owner_status(ELSEWHERE) == "unknown"
    assert outbox.recover(NOW + dt.timedelta(days=1)) == []  # cannot be judged automatically
    for refused in (lambda: outbox.claim(pub_id, NOW), lambda: outbox.reject(pub_id, now=NOW),
                    lambda: outbox.retry(pub_id, now=NOW), lambda: outbox.resolve(pub_id, False, now=NOW),
                    lambda: outbox.approve(pub_id, now=NOW)):
        with pytest.raises(StoreError, match=r"pid 4242 on oldcontainer since 2024-06-14 08:00 UTC.*--release-claim"):
            refused()

    pub = outbox.release_claim(pub_id, now=NOW + dt.timedelta(hours=1))
    assert pub.state == "needs_attention" and pub.unknown_post == 2 and pub.owner is None
    assert "post 2 of 4 was in flight" in pub.note and "pid 4242 on oldcontainer" in pub.note
    assert outbox.due("x", NOW + dt.timedelta(days=1)) == []  # never a blind repost
    outbox.resolve(pub_id, False, now=NOW)  # a person looked: post 2 is not there
    rest = DryRunPlatform()
    assert publish_publication(outbox, pub_id, rest, now=NOW).complete
    assert [p.text for p in rest.posts] == thread_texts("b", 4)[1:]
    assert rest.posts[0].reply_to == "111"


def test_a_released_claim_with_nothing_in_flight_goes_back_where_it_was(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    at = NOW + dt.timedelta(hours=2)
    outbox.approve(pub_id, at, now=NOW)
    claimed_elsewhere(outbox, pub_id, in_flight=None, now=at)
    with pytest.raises(StoreError, match="cannot be rejected"):
        outbox.reject(pub_id, now=at)
    pub = outbox.release_claim(pub_id, now=at)
    assert pub.state == "scheduled" and pub.scheduled_at == at and pub.owner is None
    assert "nothing was in flight" in pub.note and "back in line" in pub.note
    assert [p.id for p in outbox.due("x", at)] == [pub_id]
    with pytest.raises(StoreError, match="not claimed by any process"):
        outbox.release_claim(pub_id, now=at)


def test_release_is_refused_while_the_owner_runs_on_this_machine(outbox, tmp_path):
    from publisher.outbox import _boot_id, _pid_namespace, _process_start

    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id, now=NOW)
    outbox.claim(pub_id, NOW)  # this very thread
    with pytest.raises(StoreError, match="which is running"):
        outbox.release_claim(pub_id, now=NOW)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = (f"{socket.gethostname()}:{child.pid}:{_process_start(child.pid)}:{_boot_id()}:"
                 f"{_pid_namespace()}/1")
        outbox.db.execute("UPDATE publications SET owner = ? WHERE id = ?", (owner, pub_id))
        assert owner_status(owner) == "alive"
        with pytest.raises(StoreError, match=f"pid {child.pid}, which is running"):
            outbox.release_claim(pub_id, now=NOW)
    finally:
        child.kill()
        child.wait()
    assert owner_status(owner) == "dead"
    assert [p.id for p in outbox.recover(NOW)] == [pub_id]  # gone for certain: settled on its own


def test_owner_names_its_boot_and_pid_namespace():
    if not os.path.exists("/proc/sys/kernel/random/boot_id"):
        pytest.skip("no Linux boot id here")
    me = parse_owner(current_owner())
    assert me is not None and me.pid == os.getpid() and me.host == socket.gethostname()
    assert me.boot and len(me.boot) == 36 and me.pid_ns and me.pid_ns.isdigit()
    assert owner_status(current_owner()) == "alive"
    # this very process, but under another boot of the kernel: it cannot be running
    rebooted = f"{me.host}:{me.pid}:{me.start}:00000000-0000-4000-8000-000000000000:{me.pid_ns}/{me.thread}"
    assert owner_status(rebooted) == "dead"
    # same kernel, another pid namespace (another container, even with the same host name): unknown
    other_ns = f"{me.host}:999999999:1:{me.boot}:1/1"
    assert me.pid_ns != "1" and owner_status(other_ns) == "unknown"
    # claims written by older versions are still read
    old = parse_owner("oldhost:12:34/5")
    assert (old.host, old.pid, old.start, old.boot, old.thread) == ("oldhost", 12, "34", None, 5)
    assert owner_status(f"{me.host}:999999999:1/1") == "dead"
    assert owner_status("garbage") == "dead"


def test_queue_and_show_say_who_holds_a_claim_and_release_it(outbox, tmp_path):
    pub_id = store(outbox, tmp_path / "in").publications[0]
    outbox.approve(pub_id)
    claimed_at = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    claimed_elsewhere(outbox, pub_id, in_flight=0, now=claimed_at)
    listing = invoke("queue").stdout
    local = claimed_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"claimed by pid 4242 on oldcontainer since {local}, post 1 of 3 in flight" in listing
    assert f"publisher resolve {pub_id} --release-claim" in listing
    shown = invoke("show", str(pub_id)).stdout
    assert f"claimed by pid 4242 on oldcontainer since {local}" in shown and "IN FLIGHT since" in shown
    data = json.loads(invoke("queue", "--json").stdout)["publications"][0]
    assert data["claim"] == {"owner": ELSEWHERE, "by": "pid 4242 on oldcontainer", "since": claimed_at.isoformat(),
                             "status": "unknown", "post_in_flight": 1}
    assert json.loads(invoke("show", str(pub_id), "--json").stdout)["claim"]["status"] == "unknown"

    refused = fails("publish", str(pub_id))
    assert refused.exit_code == 1 and "--release-claim" in refused.output
    assert fails("resolve", str(pub_id), "--release-claim", "--not-posted").exit_code == 2
    result = invoke("resolve", str(pub_id), "--release-claim")
    assert result.exit_code == 0 and f"{pub_id} is needs_attention" in result.stdout
    assert outbox.get(pub_id).unknown_post == 1
    again = fails("resolve", str(pub_id), "--release-claim")
    assert again.exit_code == 1 and again.output.startswith("error: ") and "not claimed" in again.output
    assert invoke("resolve", str(pub_id), "--not-posted").exit_code == 0
    assert outbox.get(pub_id).state == "approved"
