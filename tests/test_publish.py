"""publish_publication: reply chains, resuming, and every failure class mapped to its state."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest

from conftest import subprocess_env
from factories import store, thread_texts
from publisher.errors import StoreError
from publisher.publishing.editing import edit_publication
from publisher.publishing.failures import MAX_ATTEMPTS
from publisher.platforms.base import AuthFailed, OutcomeUnknown, PostRef, RateLimited, Rejected, Transient
from publisher.platforms.dryrun import DryRunPlatform, Fault
from publisher.publishing.publish import publish_publication

NOW = dt.datetime(2024, 6, 14, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def approved(outbox, tmp_path) -> int:
    """An approved 4-post thread."""
    pub_id = store(outbox, tmp_path / "in", n_posts=4).publications[0]
    outbox.approve(pub_id, now=NOW)
    return pub_id


def chain_ok(platform: DryRunPlatform, texts: list[str]) -> None:
    assert [p.text for p in platform.posts] == texts
    ids = [p.ref.id for p in platform.posts]
    assert [p.reply_to for p in platform.posts] == [None, *ids[:-1]]
    assert [p.root for p in platform.posts] == [None, *[ids[0]] * (len(ids) - 1)]


def test_posts_the_whole_thread_as_a_reply_chain(outbox, approved):
    platform = DryRunPlatform()
    seen = []
    result = publish_publication(outbox, approved, platform, now=NOW, on_post=lambda post, ref: seen.append(ref.id))
    assert result.complete and result.error is None and len(result.sent) == 4
    chain_ok(platform, thread_texts("article", 4))
    assert seen == [p.ref.id for p in platform.posts]
    thread = outbox.thread(approved)
    assert [p.post_id for p in thread.posts] == seen and all(p.settled_by == "platform" for p in thread.posts)
    keys = [p.idempotency_key for p in platform.posts]
    assert len(set(keys)) == 4 and all(k.startswith(f"publisher-{approved}-") for k in keys)
    with pytest.raises(StoreError, match="already posted"):
        publish_publication(outbox, approved, platform, now=NOW)
    assert len(platform.posts) == 4


@pytest.mark.sqlite_only  # spies on the file with sqlite3
def test_each_post_is_marked_in_flight_before_the_call_and_stored_right_after(outbox, approved, tmp_path):
    """Seen from another connection, as a restarted process would see it."""
    spy = sqlite3.connect(outbox.path)
    observed = []

    class Watching(DryRunPlatform):
        def post(self, text, *, reply_to, root, idempotency_key):
            observed.append(spy.execute("SELECT state, inflight_index, posted_count, "
                                        "(SELECT count(*) FROM post_results WHERE publication_id = p.id) "
                                        "FROM publications p WHERE id = ?", (approved,)).fetchone())
            return super().post(text, reply_to=reply_to, root=root, idempotency_key=idempotency_key)

    publish_publication(outbox, approved, Watching(), now=NOW)
    assert observed == [("publishing", i, i, i) for i in range(4)]
    assert spy.execute("SELECT state, inflight_index, posted_count FROM publications").fetchone() == ("posted", None, 4)


def test_transient_failure_backs_off_then_resumes_at_the_first_unposted_post(outbox, approved):
    first = DryRunPlatform(faults={2: Fault(Transient("dry-run", "503"))})
    result = publish_publication(outbox, approved, first, now=NOW)
    pub = result.publication
    assert isinstance(result.error, Transient) and len(result.sent) == 2
    assert pub.state == "failed" and pub.posted_count == 2 and pub.attempts == 1
    assert pub.next_try_at == NOW + dt.timedelta(minutes=1) and "post 3 of 4" in pub.note
    assert outbox.due("x", NOW) == [] and [p.id for p in outbox.due("x", pub.next_try_at)] == [approved]
    second = DryRunPlatform()
    claimed = outbox.claim_next("x", pub.next_try_at)
    result = publish_publication(outbox, claimed.id, second, now=pub.next_try_at)
    assert result.complete
    texts = thread_texts("article", 4)
    assert [p.text for p in first.posts] == texts[:2] and [p.text for p in second.posts] == texts[2:]
    assert second.posts[0].reply_to == first.posts[1].ref.id and second.posts[0].root == first.posts[0].ref.id
    assert [p.post_id for p in outbox.thread(approved).posts] == [
        first.posts[0].ref.id, first.posts[1].ref.id, second.posts[0].ref.id, second.posts[1].ref.id]


def test_backoff_grows_and_gives_up_to_a_person(outbox, approved):
    now = NOW
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = publish_publication(outbox, approved, DryRunPlatform(faults={0: Fault(Transient("dry-run", "503"))}),
                                     now=now)
        pub = result.publication
        if attempt < MAX_ATTEMPTS:
            assert pub.state == "failed" and pub.attempts == attempt
            waits.append(pub.next_try_at - now)
            now = pub.next_try_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert pub.state == "needs_attention" and pub.unknown_index is None and "gave up" in pub.note
    assert outbox.retry(approved, now=now).state == "approved"


def test_rate_limit_reschedules_at_the_reset_and_pauses_the_account(outbox, approved, tmp_path):
    other = store(outbox, tmp_path / "in", "other.md").publications[0]
    outbox.approve(other, now=NOW)
    reset = NOW + dt.timedelta(hours=5)
    result = publish_publication(outbox, approved, DryRunPlatform(
        faults={1: Fault(RateLimited("x", "X 24-hour user cap of 17 posts spent (429)", reset, daily=True))}),
        now=NOW)
    pub = result.publication
    assert pub.state == "scheduled" and pub.scheduled_at == reset and pub.posted_count == 1 and pub.attempts == 0
    assert "daily cap" in pub.note
    account = outbox.account_state("x")
    assert account.paused_until == reset
    assert outbox.due("x", NOW + dt.timedelta(hours=1)) == []  # the whole account waits, not just this thread
    assert [p.id for p in outbox.due("x", reset)] == [approved, other]  # the broken thread first


def test_rate_limit_without_a_reset_waits_a_default(outbox, approved):
    result = publish_publication(outbox, approved, DryRunPlatform(faults={0: Fault(RateLimited("x", "429"))}), now=NOW)
    assert result.publication.scheduled_at == NOW + dt.timedelta(minutes=15)


@pytest.mark.parametrize("really_posted", [True, False])
def test_outcome_unknown_waits_for_a_person_then_continues(outbox, approved, really_posted):
    first = DryRunPlatform(faults={1: Fault(OutcomeUnknown("dry-run", "read timeout"), posted=really_posted)})
    result = publish_publication(outbox, approved, first, now=NOW)
    pub = result.publication
    assert pub.state == "needs_attention" and pub.unknown_post == 2 and pub.posted_count == 1
    assert "outcome of post 2 of 4 to x unknown" in pub.note and f"resolve {approved}" in pub.note
    for refused in (lambda: publish_publication(outbox, approved, DryRunPlatform(), now=NOW),
                    lambda: outbox.retry(approved, now=NOW), lambda: outbox.approve(approved, now=NOW),
                    lambda: edit_publication(outbox, approved, ["x"], now=NOW)):
        with pytest.raises(StoreError, match="post 2"):
            refused()
    assert outbox.due("x", NOW + dt.timedelta(days=1)) == []
    with pytest.raises(StoreError, match="--post-id"):
        outbox.resolve(approved, True, now=NOW)
    if really_posted:
        outbox.resolve(approved, True, PostRef(id=first.posts[1].ref.id), now=NOW)
    else:
        outbox.resolve(approved, False, now=NOW)
    second = DryRunPlatform()
    assert publish_publication(outbox, approved, second, now=NOW).complete
    every = first.posts + second.posts
    texts = thread_texts("article", 4)
    assert [p.text for p in every] == texts  # nothing sent twice, nothing skipped
    assert [p.reply_to for p in every[1:]] == [p.ref.id for p in every[:-1]]
    thread = outbox.thread(approved)
    assert thread.posts[1].settled_by == ("person" if really_posted else "platform")


def test_resolving_the_last_post_completes_the_thread(outbox, approved):
    publish_publication(outbox, approved, DryRunPlatform(faults={3: Fault(OutcomeUnknown("dry-run", "reset"))}), now=NOW)
    pub = outbox.resolve(approved, True, now=NOW)  # no id needed: nothing replies to it
    assert pub.state == "posted" and pub.posted_count == 4
    assert outbox.thread(approved).posts[3].post_id is None


def test_auth_failure_stops_the_account_until_it_works_again(outbox, approved, tmp_path):
    other = store(outbox, tmp_path / "in", "other.md").publications[0]
    outbox.approve(other, now=NOW)
    result = publish_publication(outbox, approved, DryRunPlatform(
        faults={0: Fault(AuthFailed("x", "credentials rejected (401)"))}), now=NOW)
    pub = result.publication
    assert pub.state == "failed" and pub.next_try_at is None and "posting to x is stopped" in pub.note
    assert "publisher accounts check" in outbox.account_state("x").blocked_reason
    assert outbox.due("x", NOW + dt.timedelta(days=2)) == []  # nothing else goes to that account either
    assert outbox.claim_next("x", NOW + dt.timedelta(days=2)) is None
    assert outbox.unblock_account("x", now=NOW) == [approved]
    assert [p.id for p in outbox.due("x", NOW)] == [approved, other]


def test_a_successful_post_clears_a_stopped_account(outbox, approved):
    outbox.block_account("x", "401", now=NOW)
    publish_publication(outbox, approved, DryRunPlatform(), now=NOW)  # published by hand after fixing the keys
    assert outbox.account_state("x").blocked_reason is None


def test_rejected_content_needs_attention_then_edit_and_approve(outbox, approved):
    result = publish_publication(outbox, approved, DryRunPlatform(
        faults={2: Fault(Rejected("x", "refused (400: text too long)"))}), now=NOW)
    pub = result.publication
    assert pub.state == "needs_attention" and pub.unknown_index is None and "edit or reject" in pub.note
    texts = [p.text for p in outbox.thread(approved).posts]
    with pytest.raises(StoreError, match="post 1 is already on x"):
        edit_publication(outbox, approved, ["changed", *texts[1:]], now=NOW)
    edit_publication(outbox, approved, [*texts[:2], "shorter third post", texts[3]], now=NOW)
    outbox.approve(approved, now=NOW)
    rest = DryRunPlatform()
    assert publish_publication(outbox, approved, rest, now=NOW).complete
    assert [p.text for p in rest.posts] == ["shorter third post", texts[3]]
    assert rest.posts[0].reply_to == result.sent[1].id


def test_an_unexpected_error_mid_call_is_never_retried_blindly(outbox, approved):
    class Broken(DryRunPlatform):
        def post(self, *args, **kwargs):
            raise KeyError("bug in an adapter")

    with pytest.raises(KeyError):
        publish_publication(outbox, approved, Broken(), now=NOW)
    pub = outbox.get(approved)
    assert pub.state == "needs_attention" and pub.unknown_post == 1 and "KeyError" in pub.note


def test_refuses_drafts_and_the_wrong_platform(outbox, tmp_path):
    draft = store(outbox, tmp_path / "in").publications[0]
    with pytest.raises(StoreError, match="not approved"):
        publish_publication(outbox, draft, DryRunPlatform(), now=NOW)
    outbox.approve(draft, now=NOW)

    class Mastodon(DryRunPlatform):
        name = "mastodon"

    with pytest.raises(StoreError, match="for x, not mastodon"):
        publish_publication(outbox, draft, Mastodon(), now=NOW)
    assert outbox.get(draft).state == "approved"


def test_a_live_process_holding_a_publication_keeps_it(outbox, approved, db_target):
    """Another process claims it: this one is refused; once that process is gone it is recovered."""
    target = db_target if isinstance(db_target, str) else str(outbox.path)  # the queue the fixture opened
    code = ("import sys, datetime as dt; from publisher.queue.outbox import Outbox; "
            f"box = Outbox.open({target!r}); box.claim({approved}); "
            "print('claimed', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], env=subprocess_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "claimed"
        with pytest.raises(StoreError, match=f"being published by pid {child.pid}"):
            publish_publication(outbox, approved, DryRunPlatform(), now=NOW)
        assert outbox.recover(NOW) == []
    finally:
        child.kill()
        child.wait()
    platform = DryRunPlatform()
    assert publish_publication(outbox, approved, platform, now=NOW).complete  # nothing was in flight
    assert len(platform.posts) == 4
    assert any("stopped before sending anything" in e.reason for e in outbox.history(approved))
