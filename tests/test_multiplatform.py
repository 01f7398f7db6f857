"""One article, three audiences: the seed's threads go to X, Mastodon and Bluesky from one
approval, each platform with its own state; one platform fails and is retried without touching
the other two. Real clients everywhere: tweepy -> fake X, Mastodon.py -> fake Mastodon, atproto
-> a real PDS on loopback.
"""

from __future__ import annotations

import pytest

from factories import seed_translated
from fake_mastodon import FakeMastodon
from fake_x import FakeX, x_env
from pds import pds_network  # noqa: F401  (session fixture)
from publisher.queue.outbox import Outbox
from publisher.platforms.bluesky import BlueskyPlatform
from publisher.platforms.mastodon import MastodonPlatform
from publisher.platforms.x import XPlatform
from publisher.publishing.publish import publish_publication
from publisher.threads.layout import build_threads

pytestmark = pytest.mark.slow

POSTS = "app.bsky.feed.post"


def bluesky_records(network, account) -> list:
    from atproto import Client, models

    client = Client(base_url=network.pds_url)
    client.login(account.handle, account.password, fetch_bsky_profile=False)
    out = client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=account.did, collection=POSTS, limit=100))
    return list(out.records)


def test_one_approval_three_platforms_one_failure_retried_alone(tmp_path, pds_network):
    translated = seed_translated()
    article = translated.article
    threads = build_threads(translated, ("x", "mastodon", "bluesky"))
    outbox = Outbox.open(tmp_path / "queue.db")
    ingested = outbox.add_article(article, translated, threads)
    assert len(ingested.publications) == 3 and not ingested.approved
    outbox.approve_article(ingested.article_id)  # one approval for all three
    by_platform = {outbox.get(p).platform: p for p in ingested.publications}
    assert all(outbox.get(p).state == "approved" for p in ingested.publications)

    account = pds_network.create_account()
    with FakeX() as fake_x, FakeMastodon() as fake_masto:
        x = XPlatform(*x_env(fake_x).values(), timeout=(2.0, 2.0))
        fake_x.route(x.client.session)
        masto = MastodonPlatform(fake_masto.base_url, fake_masto.token, timeout=2.0)
        bsky = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url)

        # Mastodon's server fails on the second status (503: nothing is posted by that request).
        def fail_once_after_first(post, ref):
            if post.index == 0:
                fake_masto.fail_next("POST", "/api/v1/statuses", status=503, body={"error": "try later"})

        results = {
            "x": publish_publication(outbox, by_platform["x"], x),
            "mastodon": publish_publication(outbox, by_platform["mastodon"], masto, on_post=fail_once_after_first),
            "bluesky": publish_publication(outbox, by_platform["bluesky"], bsky),
        }
        assert results["x"].complete and results["bluesky"].complete
        m = outbox.get(by_platform["mastodon"])
        assert m.state == "failed" and m.posted_count == 1

        x_before = [(t.id, t.text) for t in fake_x.tweets]
        bsky_before = sorted(r.uri for r in bluesky_records(pds_network, account))
        assert len(x_before) == len(threads["x"].posts)
        assert len(bsky_before) == len(threads["bluesky"].posts)

        # The retry touches Mastodon only, resumes at the second post and replies to the first.
        outbox.retry(by_platform["mastodon"])
        assert publish_publication(outbox, by_platform["mastodon"], masto).complete
        assert [(t.id, t.text) for t in fake_x.tweets] == x_before
        assert sorted(r.uri for r in bluesky_records(pds_network, account)) == bsky_before

        requests = fake_masto.posts()  # every POST /api/v1/statuses, the refused one included
        assert len(requests) == len(threads["mastodon"].posts) + 1
        statuses = list(fake_masto.statuses.values())
        accepted = [r for i, r in enumerate(requests) if i != 1]
        assert [r.form["status"] for r in accepted] == [p.text for p in threads["mastodon"].posts]
        assert len(statuses) == len(accepted)
        assert all(s["language"] == "en" for s in statuses)
        ids = [s["id"] for s in statuses]
        assert [s["in_reply_to_id"] for s in statuses] == [None, *ids[:-1]]
        # the refused request (the 2nd) and its retry (the 3rd) carried the same Idempotency-Key
        keys = [r.headers["idempotency-key"] for r in requests]
        assert keys[1] == keys[2] and len(set(keys)) == len(statuses)
        assert all(r.form.get("language") == "en" for r in requests)

    for name, pub_id in by_platform.items():
        pub = outbox.get(pub_id)
        assert pub.state == "posted", name
        assert len(outbox.posted_refs(pub_id)) == len(threads[name].posts)
    # every post of every platform credits the source and discloses machine translation
    for name, thread in threads.items():
        assert "Machine-translated from Chinese" in thread.posts[-1].text, name
        credit, title = thread.posts[-1].text, article.title
        assert title in credit or any(title[:k] + "…" in credit for k in range(8, len(title))), (name, credit)
    outbox.close()
