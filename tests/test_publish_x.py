"""Publishing real threads with the real tweepy client to the fake X, through every fault."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import store, thread_texts
from fake_x import FakeX, Fault, x_env
from publisher.queue.outbox import Outbox
from publisher.platforms.base import PostRef
from publisher.platforms.x import XPlatform
from publisher.publishing.publish import publish_publication


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


@pytest.fixture
def x(fake) -> XPlatform:
    platform = XPlatform(*x_env(fake).values(), timeout=(2.0, 0.5))
    fake.route(platform.client.session)
    return platform


def approved_thread(outbox: Outbox, folder, name="article.md", n_posts=5) -> int:
    pub_id = store(outbox, folder, name, n_posts=n_posts).publications[0]
    outbox.approve(pub_id)
    return pub_id


def assert_chain(fake: FakeX, outbox: Outbox, pub_id: int, tag: str = "article", n_posts: int = 5) -> None:
    """The fake holds exactly the thread, once, in order, each post replying to the previous one,
    and the database holds the ids the fake gave."""
    tweets = [t for t in fake.tweets if t.text.startswith(tag)]
    assert [t.text for t in tweets] == thread_texts(tag, n_posts)
    assert [t.in_reply_to for t in tweets] == [None, *[t.id for t in tweets[:-1]]]
    assert [p.post_id for p in outbox.thread(pub_id).posts] == [t.id for t in tweets]
    assert outbox.get(pub_id).state == "posted"


def test_publishes_a_thread(fake, x, outbox, tmp_path):
    pub_id = approved_thread(outbox, tmp_path / "in")
    result = publish_publication(outbox, pub_id, x)
    assert result.complete
    assert_chain(fake, outbox, pub_id)
    assert outbox.account_state("x").daily_remaining == 95
    assert outbox.posts_since("x", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=24)) == 5


def test_503_mid_thread_then_the_retry_resumes(fake, x, outbox, tmp_path):
    pub_id = approved_thread(outbox, tmp_path / "in")
    publish_publication(outbox, pub_id, x)  # fine; now a second thread hits a 503 at its third post
    other = approved_thread(outbox, tmp_path / "in", "second.md")
    fake.fail_next(Fault("status", status=503))
    fake.fail_next(Fault("status", status=503))  # queued: the 503 hits the next two requests
    res = publish_publication(outbox, other, x)
    assert res.publication.state == "failed" and res.publication.posted_count == 0
    outbox.retry(other)
    res = publish_publication(outbox, other, x)
    assert res.publication.state == "failed" and res.publication.attempts == 1
    outbox.retry(other)
    assert publish_publication(outbox, other, x).complete
    assert_chain(fake, outbox, other, "second")


def test_connection_refused_is_retried_safely(fake, x, outbox, tmp_path):
    pub_id = approved_thread(outbox, tmp_path / "in")
    with fake.refusing():
        res = publish_publication(outbox, pub_id, x)
    assert res.publication.state == "failed" and "nothing was sent" in res.publication.note
    outbox.retry(pub_id)
    assert publish_publication(outbox, pub_id, x).complete
    assert_chain(fake, outbox, pub_id)


@pytest.mark.parametrize("fault", [
    Fault("timeout", processed=True, hold=2.0), Fault("timeout", processed=False, hold=2.0),
    Fault("reset", processed=True), Fault("reset", processed=False),
    Fault("close", processed=True), Fault("status", status=504),
], ids=lambda f: f"{f.kind}-{'processed' if f.processed else 'not-processed'}")
def test_unknown_outcome_names_the_post_and_a_person_settles_it(fake, x, outbox, tmp_path, fault):
    pub_id = approved_thread(outbox, tmp_path / "in")
    publish_publication(outbox, pub_id, _stop_after(x, 2))  # two posts out, then the fault on the third
    assert outbox.get(pub_id).posted_count == 2
    fake.fail_next(fault)
    res = publish_publication(outbox, pub_id, x)
    pub = res.publication
    assert pub.state == "needs_attention" and pub.unknown_post == 3 and "post 3 of 5" in pub.note
    # the person looks at the account
    third = [t for t in fake.tweets if t.text == thread_texts("article", 5)[2]]
    if third:
        outbox.resolve(pub_id, True, PostRef(id=third[0].id))
    else:
        outbox.resolve(pub_id, False)
    assert publish_publication(outbox, pub_id, x).complete
    assert_chain(fake, outbox, pub_id)
    created = [r for r in fake.received if r.tweet_id]
    assert len(created) == len({r.text for r in created}) == 5  # nothing was sent twice


def test_duplicate_content_is_never_resent_blindly(fake, x, outbox, tmp_path):
    pub_id = approved_thread(outbox, tmp_path / "in", n_posts=3)
    first_text = thread_texts("article", 3)[0]
    by_hand = fake.add_tweet(first_text)  # someone already posted the hook by hand
    res = publish_publication(outbox, pub_id, x)
    assert res.publication.state == "needs_attention" and res.publication.unknown_post == 1
    assert "duplicate content" in res.publication.note
    outbox.resolve(pub_id, True, PostRef(id=by_hand.id))
    assert publish_publication(outbox, pub_id, x).complete
    assert_chain(fake, outbox, pub_id, n_posts=3)


def test_429_mid_thread_reschedules_at_the_reset(fake, x, outbox, tmp_path):
    pub_id = approved_thread(outbox, tmp_path / "in")
    publish_publication(outbox, pub_id, _stop_after(x, 3))
    fake.fail_next(Fault("rate_limit", daily=True, reset_in=3600))
    res = publish_publication(outbox, pub_id, x)
    pub = res.publication
    assert pub.state == "scheduled" and pub.posted_count == 3
    assert abs((pub.scheduled_at - dt.datetime.now(dt.timezone.utc)).total_seconds() - 3600) < 10
    assert outbox.account_state("x").paused_until == pub.scheduled_at
    assert outbox.claim_next("x", dt.datetime.now(dt.timezone.utc)) is None
    claimed = outbox.claim_next("x", pub.scheduled_at)
    assert claimed.id == pub_id
    assert publish_publication(outbox, pub_id, x).complete
    assert_chain(fake, outbox, pub_id)


@pytest.mark.parametrize("kind", ["unauthorized", "forbidden"])
def test_auth_failure_stops_the_account(fake, x, outbox, tmp_path, kind):
    pub_id = approved_thread(outbox, tmp_path / "in")
    fake.fail_next(Fault(kind))
    res = publish_publication(outbox, pub_id, x)
    assert res.publication.state == "failed" and res.publication.next_try_at is None
    assert "stopped" in outbox.account_state("x").blocked_reason
    assert outbox.claim_next("x", dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)) is None
    assert fake.tweets == []


def _stop_after(platform: XPlatform, n: int):
    """The same X account, but the (n+1)th call fails as 'nothing sent' so a test can start mid-thread."""
    from publisher.platforms.base import Transient

    class Partial:
        name = "x"

        def __init__(self):
            self.calls = 0

        def check(self):
            return platform.check()

        def post(self, text, **kwargs):
            self.calls += 1
            if self.calls > n:
                raise Transient("x", "stopped by the test")
            return platform.post(text, **kwargs)

    return Partial()
