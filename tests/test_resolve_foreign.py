"""`resolve --posted --post-id` (#11): another thread's post, or a post of another account, is
refused, so the rest of the thread never replies under someone else's thread."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from factories import store
from fake_x import FakeX, Fault, x_env
from publisher.cli import cli
from publisher.outbox import Outbox


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
