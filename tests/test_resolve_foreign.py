"""`resolve --posted --post-id` (#11): another thread's post, or a post of another account, is
refused, so the rest of the thread never replies under someone else's thread."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from factories import store
from fake_x import FakeX, Fault, x_env
from pds import pds_network  # noqa: F401  (the real PDS, a session fixture)
from publisher.cli import cli
from publisher.publishing.failures import record_failure
from publisher.queue.outbox import Outbox


@pytest.fixture
def fake():
    with FakeX() as server, server.installed():
        yield server


def _unknown_outcome(outbox, tmp_path, fake, name: str) -> int:
    pub = store(outbox, tmp_path / "in", name, n_posts=3).publications[0]
    outbox.approve(pub)
    fake.fail_next(Fault("reset", processed=True))
    result = CliRunner().invoke(cli, ["publish", str(pub)])
    assert result.exit_code == 1 and "needs_attention" in result.stderr
    return pub


def test_a_post_id_of_another_thread_or_account_is_refused(tmp_path, fake, monkeypatch):
    for key, value in x_env(fake).items():
        monkeypatch.setenv(key, value)
    outbox = Outbox.open()
    try:
        assert CliRunner().invoke(cli, ["accounts", "check", "x"]).exit_code == 0  # learns @publisher_test
        first = store(outbox, tmp_path / "in", "done.md", n_posts=3).publications[0]
        outbox.approve(first)
        assert CliRunner().invoke(cli, ["publish", str(first)]).exit_code == 0
        others = [t.id for t in fake.tweets]
        pub = _unknown_outcome(outbox, tmp_path, fake, "open.md")
        mine = fake.tweets[-1].id  # the hook of this thread did go out

        foreign = CliRunner().invoke(cli, ["resolve", str(pub), "--posted", "--post-id", others[1]])
        assert foreign.exit_code == 1
        assert f"already recorded as post 2 of publication {first}" in foreign.output
        other_account = CliRunner().invoke(cli, ["resolve", str(pub), "--posted", "--post-id",
                                                 f"https://x.com/someone_else/status/{mine}"])
        assert other_account.exit_code == 2 and "belongs to someone_else" in other_account.output
        assert outbox.get(pub).state == "needs_attention"  # nothing settled by the refusals

        ok = CliRunner().invoke(cli, ["resolve", str(pub), "--posted", "--post-id",
                                      f"https://x.com/publisher_test/status/{mine}"])
        assert ok.exit_code == 0, ok.output
        assert outbox.get(pub).state == "approved"
    finally:
        outbox.close()


@pytest.mark.slow
def test_resolve_check_asks_bluesky_and_settles_both_ways(tmp_path, monkeypatch, pds_network):
    """Against the real PDS: a post that landed is found under its derived record key and the
    rest of the thread replies to it; one that never landed goes out again, once."""
    from publisher.platforms.base import OutcomeUnknown
    from publisher.platforms.bluesky import BlueskyPlatform
    from publisher.publishing.publish import idempotency_key

    network = pds_network
    account = network.create_account()
    monkeypatch.setenv("BLUESKY_HANDLE", account.handle)
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", account.app_password)
    monkeypatch.setenv("BLUESKY_SERVICE", network.pds_url)
    outbox = Outbox.open()
    try:
        landed, lost = (store(outbox, tmp_path / "in", f"{n}.md", n_posts=3, platforms=("bluesky",)).publications[0]
                        for n in ("landed", "lost"))
        platform = BlueskyPlatform(account.handle, account.app_password, service=network.pds_url)
        for pub_id, send in ((landed, True), (lost, False)):
            outbox.approve(pub_id)
            outbox.claim(pub_id)
            outbox.begin_post(pub_id, 0)
            pub = outbox.get(pub_id)
            if send:  # the post went out, but the answer was lost
                platform.post(outbox.thread(pub_id).posts[0].text, reply_to=None, root=None,
                              idempotency_key=idempotency_key(pub, 0))
            record_failure(outbox, pub_id, 0, OutcomeUnknown("bluesky", "read timeout after sending"))
            assert outbox.get(pub_id).state == "needs_attention"

        found = CliRunner().invoke(cli, ["resolve", str(landed), "--check"])
        assert found.exit_code == 0, found.output
        assert "bluesky has post 1 of 3" in found.output and outbox.get(landed).state == "approved"
        assert outbox.get(landed).posted_count == 1
        assert outbox.posted_refs(landed)[0].id.startswith("at://")

        missing = CliRunner().invoke(cli, ["resolve", str(lost), "--check"])
        assert missing.exit_code == 0, missing.output
        assert "does not have post 1 of 3" in missing.output
        assert outbox.get(lost).state == "approved" and outbox.get(lost).posted_count == 0

        x_pub = store(outbox, tmp_path / "in", "x.md", n_posts=3).publications[0]
        outbox.approve(x_pub)
        outbox.claim(x_pub)
        outbox.begin_post(x_pub, 0)
        record_failure(outbox, x_pub, 0, OutcomeUnknown("x", "timeout"))
        monkeypatch.setenv("X_API_KEY", "k")
        monkeypatch.setenv("X_API_SECRET", "s")
        monkeypatch.setenv("X_ACCESS_TOKEN", "t")
        monkeypatch.setenv("X_ACCESS_TOKEN_SECRET", "ts")
        unreachable = CliRunner().invoke(cli, ["resolve", str(x_pub), "--check"])  # X asked, but not reachable here
        assert unreachable.exit_code == 1 and "cannot tell whether post 1 of 3 is on x" in unreachable.output
        assert "nothing changed" in unreachable.output
        assert outbox.get(x_pub).state == "needs_attention"
    finally:
        outbox.close()
