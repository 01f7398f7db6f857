"""Mastodon: the real Mastodon.py client against an HTTP-level fake of the API on loopback."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time

import pytest

from fake_mastodon import IDEMPOTENCY_WINDOW, FakeMastodon
from publisher.errors import ConfigError
from publisher.platforms.base import AuthFailed, OutcomeUnknown, Platform, PostRef, RateLimited, Rejected, Transient
from publisher.platforms.mastodon import MastodonPlatform

STATUSES = "/api/v1/statuses"


@pytest.fixture
def fake():
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def platform(fake):
    return MastodonPlatform(fake.base_url, fake.token, timeout=2.0)


def post_thread(platform, texts, publication="pub-1"):
    refs: list[PostRef] = []
    for i, text in enumerate(texts):
        refs.append(platform.post(text, reply_to=refs[-1] if refs else None, root=refs[0] if refs else None,
                                  idempotency_key=f"{publication}/{i}"))
    return refs


def test_thread_is_a_chain_of_in_reply_to_id_with_language_and_idempotency_keys(fake, platform):
    texts = ["快讯 🚀 one https://example.com/新闻", "two, continued", "three: machine-translated"]
    refs = post_thread(platform, texts)
    posts = fake.posts()
    assert [p.form["status"] for p in posts] == texts
    assert "in_reply_to_id" not in posts[0].form
    assert [p.form.get("in_reply_to_id") for p in posts[1:]] == [refs[0].id, refs[1].id]
    assert all(p.form["language"] == "en" for p in posts)
    assert all(p.form["visibility"] == "public" for p in posts)
    assert [p.headers["idempotency-key"] for p in posts] == ["pub-1/0", "pub-1/1", "pub-1/2"]
    assert all(p.headers["authorization"] == f"Bearer {fake.token}" for p in posts)
    # the server's view: three statuses, each replying to the one before
    assert [fake.statuses[r.id]["in_reply_to_id"] for r in refs] == [None, refs[0].id, refs[1].id]
    assert refs[2].url == fake.statuses[refs[2].id]["url"]


def test_visibility_is_configurable_and_checked(fake, monkeypatch):
    MastodonPlatform(fake.base_url, fake.token, visibility="unlisted").post(
        "quiet", reply_to=None, root=None, idempotency_key="k")
    assert fake.posts()[-1].form["visibility"] == "unlisted"
    monkeypatch.setenv("MASTODON_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", fake.token)
    monkeypatch.setenv("MASTODON_VISIBILITY", "private")
    MastodonPlatform.from_env().post("followers only", reply_to=None, root=None, idempotency_key="k2")
    assert fake.posts()[-1].form["visibility"] == "private"
    monkeypatch.setenv("MASTODON_VISIBILITY", "everyone")
    with pytest.raises(ConfigError, match="MASTODON_VISIBILITY"):
        MastodonPlatform.from_env()


def test_check_reads_the_account_and_the_instance_limit(fake):
    fake.max_characters = 1000
    account = MastodonPlatform(fake.base_url, fake.token).check()
    assert account.platform == "mastodon"
    assert account.handle.startswith("@publisher@127.0.0.1")
    assert account.id == "109000000000000001"
    assert account.max_characters == 1000
    assert [r.path for r in fake.requests] == ["/api/v1/accounts/verify_credentials", "/api/v2/instance"]


def test_the_instance_limit_is_enforced_before_sending(fake):
    fake.max_characters = 100
    platform = MastodonPlatform(fake.base_url, fake.token)
    with pytest.raises(Rejected, match="101 characters, over the mastodon limit of 100"):
        platform.post("字" * 101, reply_to=None, root=None, idempotency_key="k")
    # a URL counts 23 whatever its length: 77 + 23 = 100 fits
    platform.post("字" * 76 + " https://example.com/" + "a" * 80, reply_to=None, root=None, idempotency_key="k2")
    assert len(fake.posts()) == 1


def test_a_longer_instance_limit_is_used(fake):
    fake.max_characters = 1000
    MastodonPlatform(fake.base_url, fake.token).post("字" * 900, reply_to=None, root=None, idempotency_key="k")
    assert len(fake.statuses) == 1


def test_server_error_is_transient_and_the_retry_sends_the_same_key(fake, platform):
    fake.fail_next("POST", STATUSES, status=503, body={"error": "Service Unavailable"})
    with pytest.raises(Transient, match="503"):
        platform.post("retry me", reply_to=None, root=None, idempotency_key="pub-2/0")
    ref = platform.post("retry me", reply_to=None, root=None, idempotency_key="pub-2/0")
    assert [p.headers["idempotency-key"] for p in fake.posts()] == ["pub-2/0", "pub-2/0"]
    assert list(fake.statuses) == [ref.id]


def test_timeout_after_sending_is_unknown_and_a_retry_cannot_duplicate(fake):
    platform = MastodonPlatform(fake.base_url, fake.token, timeout=0.5)
    first = platform.post("first", reply_to=None, root=None, idempotency_key="pub-3/0")
    fake.fail_next("POST", STATUSES, after_commit="hang", hang_seconds=2.0)
    with pytest.raises(OutcomeUnknown, match="timed out"):
        platform.post("second", reply_to=first, root=first, idempotency_key="pub-3/1")
    assert len(fake.statuses) == 2  # the server did create it
    again = platform.post("second", reply_to=first, root=first, idempotency_key="pub-3/1")
    assert len(fake.statuses) == 2
    assert fake.statuses[again.id]["in_reply_to_id"] == first.id
    keys = [p.headers["idempotency-key"] for p in fake.posts()]
    assert keys == ["pub-3/0", "pub-3/1", "pub-3/1"]
    assert [p.form.get("in_reply_to_id") for p in fake.posts()[1:]] == [first.id, first.id]


def test_dropped_connection_after_sending_is_unknown(fake, platform):
    fake.fail_next("POST", STATUSES, after_commit="drop")
    with pytest.raises(OutcomeUnknown, match="lost its connection"):
        platform.post("dropped", reply_to=None, root=None, idempotency_key="pub-4/0")
    ref = platform.post("dropped", reply_to=None, root=None, idempotency_key="pub-4/0")
    assert list(fake.statuses) == [ref.id]


def test_the_key_window_is_what_keeps_retries_safe(fake, platform):
    """Documented behaviour: after about an hour the server forgets the key."""
    ref = platform.post("once", reply_to=None, root=None, idempotency_key="pub-5/0")
    fake.advance(IDEMPOTENCY_WINDOW - 60)
    assert platform.post("once", reply_to=None, root=None, idempotency_key="pub-5/0") == ref
    fake.advance(120)
    assert platform.post("once", reply_to=None, root=None, idempotency_key="pub-5/0") != ref
    assert len(fake.statuses) == 2


def test_rate_limit_uses_the_iso_reset_time(fake, platform):
    reset = time.time() + 1800
    fake.rate_limit_next(reset)
    with pytest.raises(RateLimited) as caught:
        platform.post("too soon", reply_to=None, root=None, idempotency_key="pub-6/0")
    assert caught.value.reset_at is not None
    assert abs(caught.value.reset_at.timestamp() - reset) < 2.0  # Mastodon.py corrects for the Date header
    assert caught.value.daily is False
    assert fake.statuses == {}


@pytest.mark.parametrize("code, error", [(401, AuthFailed), (403, AuthFailed), (422, Rejected), (404, Rejected),
                                         (500, Transient), (502, Transient), (504, OutcomeUnknown)])
def test_http_errors_are_classified(fake, platform, code, error):
    fake.fail_next("POST", STATUSES, status=code, body={"error": f"injected {code}"})
    with pytest.raises(error) as caught:
        platform.post("x", reply_to=None, root=None, idempotency_key="k")
    assert str(caught.value).startswith("mastodon: ")


def test_real_validation_and_auth_answers_are_classified(fake):
    with pytest.raises(AuthFailed, match="MASTODON_ACCESS_TOKEN"):
        MastodonPlatform(fake.base_url, "revoked-token").check()
    platform = MastodonPlatform(fake.base_url, fake.token)
    with pytest.raises(Rejected, match="does not appear to exist"):
        platform.post("reply to nothing", reply_to=PostRef(id="999"), root=PostRef(id="999"), idempotency_key="k")
    fake.scopes = {"read"}
    with pytest.raises(AuthFailed, match="write:statuses"):
        platform.post("no scope", reply_to=None, root=None, idempotency_key="k2")
    assert fake.statuses == {}


def test_connection_refused_is_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    platform = MastodonPlatform(f"http://127.0.0.1:{port}", "token")
    with pytest.raises(Transient, match="could not reach"):
        platform.check()
    with pytest.raises(Transient):
        platform.post("hello", reply_to=None, root=None, idempotency_key="k")


def test_from_env_names_missing_variables_and_never_shows_the_token(fake, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match="MASTODON_API_BASE_URL"):
        MastodonPlatform.from_env()
    monkeypatch.setenv("MASTODON_API_BASE_URL", fake.base_url)
    with pytest.raises(ConfigError, match="MASTODON_ACCESS_TOKEN"):
        MastodonPlatform.from_env()
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", fake.token)
    platform = MastodonPlatform.from_env()
    assert isinstance(platform, Platform)
    platform.check()
    platform.post("hello", reply_to=None, root=None, idempotency_key="k")
    fake.fail_next("POST", STATUSES, status=401, body={"error": "The access token was revoked"})
    with pytest.raises(AuthFailed) as caught:
        platform.post("again", reply_to=None, root=None, idempotency_key="k2")
    for text in (str(caught.value), repr(platform), caplog.text):
        assert fake.token not in text
    monkeypatch.setenv("MASTODON_API_BASE_URL", "ftp://example.com")
    with pytest.raises(ConfigError, match="MASTODON_API_BASE_URL"):
        MastodonPlatform.from_env()


def test_reset_at_is_timezone_aware_utc(fake, platform):
    fake.rate_limit_next(time.time() + 60)
    with pytest.raises(RateLimited) as caught:
        platform.post("x", reply_to=None, root=None, idempotency_key="k")
    assert caught.value.reset_at.tzinfo is not None
    assert caught.value.reset_at.utcoffset() == dt.timedelta(0)
