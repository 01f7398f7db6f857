"""Images through the queue and the real clients: the seed's thread with its images served from
loopback, uploaded to the fake X (v2 media endpoints), the fake Mastodon (/api/v2/media, 202 then
ready) and the real Bluesky PDS, exactly once."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

import factories
import media_fixtures as mf
from fake_mastodon import FakeMastodon
from fake_x import FakeX, Fault, x_env
from publisher.media.attach import add_images
from publisher.media.fetch import Fetcher
from publisher.queue.media import uploads_of
from publisher.media.store import MediaStore
from publisher.media.upload import attachments_for
from publisher.models import Thread
from publisher.queue.outbox import Outbox
from publisher.platforms.base import MediaItem, Rejected, Transient
from publisher.platforms.x import XPlatform
from publisher.publishing.publish import publish_publication

NOW = dt.datetime(2024, 6, 14, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


@pytest.fixture
def x(fake, monkeypatch) -> XPlatform:
    for key, value in x_env(fake).items():
        monkeypatch.setenv(key, value)
    platform = XPlatform.from_env(timeout=(2.0, 2.0))
    fake.route(platform.client.session)
    return platform


@pytest.fixture(autouse=True)
def backend(db_target, monkeypatch):
    """Every test here on both backends: the queue on PostgreSQL through PUBLISHER_DB."""
    if isinstance(db_target, str):
        monkeypatch.setenv("PUBLISHER_DB", db_target)


@pytest.fixture
def server():
    with mf.ImageServer() as s:
        yield s


@pytest.fixture
def seed_drafts(server, isolated_env):
    """The seed's threads on all three platforms with images fetched from loopback."""
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts

    translated = factories.seed_translated()
    mf.serve_seed_images(server, translated.article)
    fetcher = Fetcher(transport=mf.routed(server.base_url))
    drafts = build_drafts(translated, ("x", "mastodon", "bluesky"), options=ThreadOptions())
    out = add_images(translated.article, translated, drafts, "lead", fetcher)
    fetcher.close()
    return translated, out


def queue(outbox: Outbox, translated, drafts, platforms=("x", "mastodon", "bluesky")) -> dict[str, int]:
    threads = {p: drafts[p].thread for p in platforms}
    ing = outbox.add_article(translated.article, translated, threads, now=NOW)
    ids = {}
    for pub_id in ing.publications:
        pub = outbox.approve(pub_id, now=NOW)
        ids[pub.platform] = pub_id
    return ids


def test_x_upload_uses_the_v2_endpoints_with_alt_text(x, fake):
    data = mf.png()
    upload = x.upload_media(MediaItem(data=data, mime="image/png", alt="A blue card.", width=800, height=450,
                                      sha256="0" * 64))
    item = fake.media[upload.media_id]
    assert item.data == data and item.alt == "A blue card." and item.finalized and item.category == "tweet_image"
    endpoints = [e for e, _ in fake.requests]
    assert endpoints == ["POST /2/media/upload/initialize", f"POST /2/media/upload/{upload.media_id}/append",
                         f"POST /2/media/upload/{upload.media_id}/finalize", "POST /2/media/metadata"]
    assert all(scheme == "OAuth" for _, scheme in fake.requests)
    assert 86000 < upload.expires_in <= 86400


def test_x_animated_gif_waits_for_processing(x, fake):
    data = mf.animated_gif()
    upload = x.upload_media(MediaItem(data=data, mime="image/gif", alt="", width=320, height=240, sha256="1" * 64,
                                      animated=True))
    assert fake.media[upload.media_id].category == "tweet_gif" and fake.media[upload.media_id].processed
    assert "GET /2/media/upload" in [e for e, _ in fake.requests]


def test_x_upload_failures_are_classified(x, fake):
    item = MediaItem(data=mf.png(), mime="image/png", alt="", width=800, height=450, sha256="2" * 64)
    fake.fail_next(Fault("status", status=503), "POST /2/media/upload/append")
    with pytest.raises(Transient):
        x.upload_media(item)
    fake.fail_next(Fault("rate_limit"), "POST /2/media/upload/initialize")
    from publisher.platforms.base import RateLimited

    with pytest.raises(RateLimited):
        x.upload_media(item)
    too_big = MediaItem(data=b"x" * (6 * 1024 * 1024), mime="image/png", alt="", width=1, height=1, sha256="3" * 64)
    with pytest.raises(Rejected, match="File size exceeds"):
        x.upload_media(too_big)


def test_seed_on_x_posts_the_lead_image_once(x, fake, seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        result = publish_publication(outbox, ids["x"], x, now=NOW)
        assert result.complete, result.publication.note
        thread = drafts["x"].thread
        image = thread.media[0]
        carrier = fake.tweet(result.sent[image.post].id)
        assert len(carrier.media_ids) == 1
        uploaded = fake.media[carrier.media_ids[0]]
        assert uploaded.data == MediaStore().get(image.sha256)
        assert uploaded.alt == image.alt and "https://x.com/CharaspowerAI/status/1799494388462063632" in uploaded.alt
        assert "Image: CharaspowerAI on X" in carrier.text
        assert [t for t in fake.tweets if t.media_ids] == [carrier]
        # a second publish posts nothing and uploads nothing
        before = (len(fake.tweets), len(fake.media))
        with pytest.raises(Exception, match="already posted"):
            publish_publication(outbox, ids["x"], x, now=NOW)
        assert (len(fake.tweets), len(fake.media)) == before


def test_an_upload_stored_before_a_crash_is_reused_or_renewed(x, fake, seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        pub_id = ids["x"]
        thread = outbox.thread(pub_id)
        outbox.claim(pub_id, NOW)
        kwargs = attachments_for(outbox, pub_id, thread, thread.media[0].post, x, lambda: NOW)
        first = kwargs["media"][0].media_id
        assert uploads_of(outbox.db, pub_id)[0]["media_id"] == first
        outbox.release(pub_id, "test: the process stops after the upload", now=NOW)
        # the next attempt reuses the stored id: nothing is uploaded again
        uploads = len(fake.media)
        result = publish_publication(outbox, pub_id, x, now=NOW)
        assert result.complete and len(fake.media) == uploads
        assert fake.tweet(result.sent[thread.media[0].post].id).media_ids == (first,)


def test_an_expired_upload_is_uploaded_again(x, fake, seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        pub_id = ids["x"]
        thread = outbox.thread(pub_id)
        outbox.claim(pub_id, NOW)
        first = attachments_for(outbox, pub_id, thread, 0, x, lambda: NOW)["media"][0].media_id
        outbox.release(pub_id, "test", now=NOW)
        later = NOW + dt.timedelta(days=2)
        result = publish_publication(outbox, pub_id, x, now=later)
        assert result.complete
        carried = fake.tweet(result.sent[0].id).media_ids
        assert carried and carried != (first,)


def test_an_upload_failure_posts_nothing_and_retries_later(x, fake, seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        fake.fail_next(Fault("status", status=503), "POST /2/media/upload/initialize")
        result = publish_publication(outbox, ids["x"], x, now=NOW)
        assert result.publication.state == "failed" and isinstance(result.error, Transient)
        assert "uploading image 1 of post 1" in result.publication.note
        assert fake.tweets == []
        retry = publish_publication(outbox, ids["x"], x, now=NOW + dt.timedelta(minutes=5))
        assert retry.complete


def test_approval_covers_the_images(seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    thread = drafts["x"].thread
    text_only = Thread(platform="x", posts=thread.posts, article_hash=thread.article_hash, title=thread.title)
    assert thread.content_hash != text_only.content_hash
    other_alt = Thread(platform="x", posts=thread.posts, article_hash=thread.article_hash, title=thread.title,
                       media=(thread.media[0].__class__(**{**thread.media[0].__dict__, "alt": "changed"}),))
    assert other_alt.content_hash != thread.content_hash
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        stored = outbox.thread(ids["x"])
        assert stored.media == thread.media and stored.content_hash == thread.content_hash


# --- Mastodon ----------------------------------------------------------------------------------


@pytest.fixture
def mastodon():
    with FakeMastodon() as server:
        yield server


def mastodon_platform(fake_server):
    from publisher.platforms.mastodon import MastodonPlatform

    return MastodonPlatform(fake_server.base_url, fake_server.token, timeout=5.0)


def test_mastodon_upload_202_then_ready(mastodon):
    mastodon.processing_polls = 3
    platform = mastodon_platform(mastodon)
    data = mf.animated_gif()
    upload = platform.upload_media(MediaItem(data=data, mime="image/gif", alt="Noodles.", width=320, height=240,
                                             sha256="4" * 64, animated=True))
    item = mastodon.media[upload.media_id]
    assert item["data"] == data and item["description"] == "Noodles." and item["url"]
    polls = [r for r in mastodon.requests if r.method == "GET" and r.path == f"/api/v1/media/{upload.media_id}"]
    assert len(polls) == 3
    uploads = [r for r in mastodon.requests if r.path == "/api/v2/media"]
    assert len(uploads) == 1 and uploads[0].form["description"] == "Noodles."


def test_seed_on_mastodon_attaches_the_lead_image_with_its_description(mastodon, seed_drafts, isolated_env):
    mastodon.processing_polls = 2
    translated, drafts = seed_drafts
    platform = mastodon_platform(mastodon)
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("mastodon",))
        result = publish_publication(outbox, ids["mastodon"], platform, now=NOW)
        assert result.complete, result.publication.note
        image = drafts["mastodon"].thread.media[0]
        status = mastodon.statuses[result.sent[image.post].id]
        [attached] = status["media_attachments"]
        assert attached["description"] == image.alt and "CharaspowerAI" in attached["description"]
        assert mastodon.media[attached["id"]]["data"] == MediaStore().get(image.sha256)
        assert "Image: CharaspowerAI on X" in status["content"]
        assert sum(len(s["media_attachments"]) for s in mastodon.statuses.values()) == 1
        n = len(mastodon.statuses), len(mastodon.media)
        with pytest.raises(Exception, match="already posted"):
            publish_publication(outbox, ids["mastodon"], platform, now=NOW)
        assert (len(mastodon.statuses), len(mastodon.media)) == n


# --- Bluesky (the real PDS) ----------------------------------------------------------------------

from pds import pds_network  # noqa: E402,F401  (the session fixture)

ORIGINAL = "https://www.jiqizhixin.com/articles/2024-06-14-kling"


@pytest.fixture
def seed_with_link(server, tmp_path, isolated_env):
    """The seed with an original link in its frontmatter, images served from loopback."""
    from publisher.articles.read import read_article
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts
    from publisher.translate.base import FakeTranslator
    from publisher.translate.article import translate_article

    text = factories.SEED.read_text(encoding="utf-8").replace("author: ByteAILab\n",
                                                              f"author: ByteAILab\nurl: {ORIGINAL}\n", 1)
    path = tmp_path / "seed-with-link.txt"
    path.write_text(text, encoding="utf-8")
    translated = translate_article(read_article(path), FakeTranslator(factories.load_phrasebook()))
    mf.serve_seed_images(server, translated.article)
    fetcher = Fetcher(transport=mf.routed(server.base_url))
    drafts = build_drafts(translated, ("bluesky",), options=ThreadOptions())
    out = add_images(translated.article, translated, drafts, "lead", fetcher)
    fetcher.close()
    return translated, out


@pytest.mark.slow
def test_seed_on_bluesky_stores_the_blob_the_embed_and_the_link_card(pds_network, seed_with_link, isolated_env):
    from atproto import Client, models

    from publisher.platforms.bluesky import POST_COLLECTION, BlueskyPlatform

    translated, drafts = seed_with_link
    account = pds_network.create_account()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url)
    thread = drafts["bluesky"].thread
    assert thread.card is not None and thread.card.thumb is not None
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("bluesky",))
        result = publish_publication(outbox, ids["bluesky"], platform, now=NOW)
        assert result.complete, result.publication.note
        reader = Client(base_url=pds_network.pds_url)
        reader.login(account.handle, account.password, fetch_bsky_profile=False)
        got = {r.uri: r.value for r in reader.com.atproto.repo.list_records(
            models.ComAtprotoRepoListRecords.Params(repo=account.did, collection=POST_COLLECTION, limit=100)).records}
        assert len(got) == len(thread.posts)
        image = thread.media[0]
        record = got[result.sent[image.post].id]
        [embedded] = record.embed.images
        assert embedded.alt == image.alt and "https://x.com/CharaspowerAI/status/1799494388462063632" in embedded.alt
        assert (embedded.aspect_ratio.width, embedded.aspect_ratio.height) == (image.width, image.height)
        assert "Image: CharaspowerAI on X" in record.text
        blob = reader.com.atproto.sync.get_blob(models.ComAtprotoSyncGetBlob.Params(
            did=account.did, cid=embedded.image.ref.link))
        stored = MediaStore().get(image.sha256)
        assert blob == stored and len(stored) <= 1_000_000
        with Image.open(io.BytesIO(blob)) as im:
            assert getattr(im, "n_frames", 1) == 1  # Bluesky gets the GIF's first frame
        card_record = got[result.sent[thread.card.post].id]
        external = card_record.embed.external
        assert external.uri == ORIGINAL and external.title == translated.title
        assert external.thumb is not None
        # a second publish posts nothing
        with pytest.raises(Exception, match="already posted"):
            publish_publication(outbox, ids["bluesky"], platform, now=NOW)
        again = reader.com.atproto.repo.list_records(
            models.ComAtprotoRepoListRecords.Params(repo=account.did, collection=POST_COLLECTION, limit=100))
        assert len(again.records) == len(thread.posts)


def test_a_post_refused_for_its_media_uploads_them_again_next_time(x, fake, seed_drafts, isolated_env):
    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("x",))
        pub_id = ids["x"]
        thread = outbox.thread(pub_id)
        outbox.claim(pub_id, NOW)
        first = attachments_for(outbox, pub_id, thread, 0, x, lambda: NOW)["media"][0].media_id
        outbox.release(pub_id, "test", now=NOW)
        fake.expire_media()  # X dropped it earlier than it said
        result = publish_publication(outbox, pub_id, x, now=NOW)
        assert result.publication.state == "needs_attention" and isinstance(result.error, Rejected)
        assert [r.outcome for r in fake.received] == ["bad_media"] and fake.tweets == []
        outbox.retry(pub_id, now=NOW)
        again = publish_publication(outbox, pub_id, x, now=NOW)
        assert again.complete
        carried = fake.tweet(again.sent[0].id).media_ids
        assert carried and carried != (first,)


def test_a_text_edit_keeps_the_images_and_refuses_to_drop_a_credit(seed_drafts, isolated_env):
    from publisher.errors import StoreError
    from publisher.publishing.editing import edit_publication
    from publisher.queue.records import EditedPost

    translated, drafts = seed_drafts
    with Outbox.open() as outbox:
        ids = queue(outbox, translated, drafts, ("mastodon",))
        pub_id = ids["mastodon"]
        thread = outbox.thread(pub_id)
        posts = [EditedPost(p.text, p.role) for p in thread.posts]
        posts[1] = EditedPost(posts[1].text + " (edited)", posts[1].role)
        after = edit_publication(outbox, pub_id, posts)
        edited = outbox.thread(pub_id)
        assert after.state == "draft" and edited.media == thread.media and edited.content_hash != thread.content_hash
        no_credit = list(posts)
        no_credit[0] = EditedPost(posts[0].text.replace("Image: CharaspowerAI on X", "").strip(), posts[0].role)
        with pytest.raises(StoreError, match="keep its line \"Image: CharaspowerAI on X\""):
            edit_publication(outbox, pub_id, no_credit)
        assert outbox.thread(pub_id).media == thread.media
