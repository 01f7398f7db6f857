"""The X adapter: the real tweepy client against the HTTP-level fake, with every fault."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest

from fake_x import FakeX, Fault, x_env
from publisher.errors import ConfigError
from publisher.platforms.base import AuthFailed, OutcomeUnknown, Platform, RateLimited, Rejected, Transient
from publisher.platforms.x import XPlatform, parse_post_id


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


@pytest.fixture
def x(fake, monkeypatch) -> XPlatform:
    for key, value in x_env(fake).items():
        monkeypatch.setenv(key, value)
    platform = XPlatform.from_env(timeout=(2.0, 0.5))
    fake.route(platform.client.session)
    return platform


def test_is_a_platform_and_hides_credentials(x, fake):
    assert isinstance(x, Platform)
    assert fake.api_secret not in repr(x) and fake.access_token not in repr(x)


def test_from_env_names_every_missing_variable(monkeypatch):
    monkeypatch.setenv("X_API_KEY", "k")
    monkeypatch.setenv("X_ACCESS_TOKEN", "   ")
    with pytest.raises(ConfigError) as info:
        XPlatform.from_env()
    message = str(info.value)
    assert "X_API_SECRET" in message and "X_ACCESS_TOKEN," in message and "X_ACCESS_TOKEN_SECRET" in message
    assert "X_API_KEY" not in message


def test_check_verifies_the_signed_credentials(x, fake):
    account = x.check()
    assert (account.platform, account.handle, account.id) == ("x", "@publisher_test", "1000")
    assert fake.requests == [("GET /2/users/me", "OAuth")]
    assert fake.tweets == []


def test_check_with_a_wrong_secret_is_auth_failed(fake):
    env = x_env(fake)
    env["X_ACCESS_TOKEN_SECRET"] = "not-the-secret"
    platform = XPlatform(*env.values())
    fake.route(platform.client.session)
    with pytest.raises(AuthFailed, match="401"):
        platform.check()


def test_posts_a_reply_chain(x, fake):
    first = x.post("第一条 hook 🧵", reply_to=None, root=None, idempotency_key="k0")
    second = x.post("second", reply_to=first, root=first, idempotency_key="k1")
    third = x.post("third https://example.com/a", reply_to=second, root=first, idempotency_key="k2")
    tweets = fake.tweets
    assert [t.text for t in tweets] == ["第一条 hook 🧵", "second", "third https://example.com/a"]
    assert [t.in_reply_to for t in tweets] == [None, first.id, second.id]
    assert [t.id for t in tweets] == [first.id, second.id, third.id]
    assert first.url == f"https://x.com/i/status/{first.id}"
    assert third.extra["daily_remaining"] == 97 and third.extra["daily_limit"] == 100


def test_429_window_gives_the_reset_time(x, fake):
    fake.fail_next(Fault("rate_limit", reset_in=600))
    with pytest.raises(RateLimited) as info:
        x.post("a", reply_to=None, root=None, idempotency_key="k")
    expected = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=600)
    assert not info.value.daily
    assert abs((info.value.reset_at - expected).total_seconds()) < 5
    assert fake.tweets == []


@pytest.mark.parametrize("which", ["daily", "app_daily"])
def test_429_daily_cap_reads_the_24_hour_headers(x, fake, which):
    fake.fail_next(Fault("rate_limit", reset_in=5000, **{which: True}))
    with pytest.raises(RateLimited) as info:
        x.post("a", reply_to=None, root=None, idempotency_key="k")
    assert info.value.daily
    expected = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5000)
    assert abs((info.value.reset_at - expected).total_seconds()) < 5
    assert ("user cap of 17" if which == "daily" else "app cap of 1500") in str(info.value)


def test_natural_daily_cap(fake, monkeypatch):
    fake.daily_limit = 1
    platform = XPlatform(*x_env(fake).values())
    fake.route(platform.client.session)
    platform.post("one", reply_to=None, root=None, idempotency_key="k")
    with pytest.raises(RateLimited) as info:
        platform.post("two", reply_to=None, root=None, idempotency_key="k")
    assert info.value.daily


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient(x, fake, status):
    fake.fail_next(Fault("status", status=status))
    with pytest.raises(Transient, match=str(status)):
        x.post("a", reply_to=None, root=None, idempotency_key="k")
    assert fake.tweets == []


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_outcome_unknown(x, fake, status):
    fake.fail_next(Fault("status", status=status))
    with pytest.raises(OutcomeUnknown):
        x.post("a", reply_to=None, root=None, idempotency_key="k")


def test_connection_refused_before_sending_is_transient(x, fake):
    with fake.refusing():
        with pytest.raises(Transient, match="nothing was sent"):
            x.post("a", reply_to=None, root=None, idempotency_key="k")
    assert fake.received == []


@pytest.mark.parametrize("processed", [False, True])
def test_timeout_after_sending_is_outcome_unknown(x, fake, processed):
    fake.fail_next(Fault("timeout", processed=processed, hold=2.0))
    start = time.monotonic()
    with pytest.raises(OutcomeUnknown, match="no answer"):
        x.post("slow", reply_to=None, root=None, idempotency_key="k")
    assert time.monotonic() - start < 1.5  # the adapter's read timeout, not tweepy's "forever"
    assert [t.text for t in fake.tweets] == (["slow"] if processed else [])


@pytest.mark.parametrize("kind", ["reset", "close"])
@pytest.mark.parametrize("processed", [False, True])
def test_connection_dropped_after_sending_is_outcome_unknown(x, fake, kind, processed):
    fake.fail_next(Fault(kind, processed=processed))
    with pytest.raises(OutcomeUnknown, match="after the request was sent"):
        x.post("dropped", reply_to=None, root=None, idempotency_key="k")
    assert [t.text for t in fake.tweets] == (["dropped"] if processed else [])
    assert len(fake.received) == 1  # sent exactly once: requests never retried it


def test_duplicate_content_is_outcome_unknown(x, fake):
    x.post("same text", reply_to=None, root=None, idempotency_key="k")
    with pytest.raises(OutcomeUnknown, match="duplicate content"):
        x.post("same text", reply_to=None, root=None, idempotency_key="k")
    fake.fail_next(Fault("duplicate"))
    with pytest.raises(OutcomeUnknown, match="duplicate"):
        x.post("other", reply_to=None, root=None, idempotency_key="k")
    assert [t.text for t in fake.tweets] == ["same text"]


def test_401_and_auth_403_are_auth_failed(x, fake):
    fake.fail_next(Fault("unauthorized"))
    with pytest.raises(AuthFailed, match="X_API_KEY"):
        x.post("a", reply_to=None, root=None, idempotency_key="k")
    fake.fail_next(Fault("forbidden"))
    with pytest.raises(AuthFailed, match="permission"):
        x.post("a", reply_to=None, root=None, idempotency_key="k")
    assert fake.tweets == []


def test_reply_to_a_deleted_post_is_rejected(x, fake):
    from publisher.platforms.base import PostRef

    with pytest.raises(Rejected, match="gone"):
        x.post("a", reply_to=PostRef(id="12345"), root=PostRef(id="12345"), idempotency_key="k")


def test_check_never_reports_outcome_unknown(x, fake):
    fake.fail_next(Fault("reset", processed=False), endpoint="GET /2/users/me")
    with pytest.raises(Transient):
        x.check()


def test_no_secret_in_logs_even_at_debug(x, fake, caplog):
    caplog.set_level(logging.DEBUG)
    x.check()
    x.post("logged?", reply_to=None, root=None, idempotency_key="k")
    fake.fail_next(Fault("unauthorized"))
    with pytest.raises(AuthFailed) as info:
        x.post("b", reply_to=None, root=None, idempotency_key="k")
    text = caplog.text + str(info.value)
    assert caplog.records  # urllib3 still logs its (secret-free) request lines
    for secret in x_env(fake).values():
        assert secret not in text


@pytest.mark.parametrize("value, expected", [
    ("1790000000000000857", "1790000000000000857"),
    ("https://x.com/publisher_test/status/1790000000000000857", "1790000000000000857"),
    ("https://twitter.com/someone/status/42?s=20", "42"),
    ("https://x.com/i/web/status/77", "77"),
    ("https://example.com/status/1", None),
    ("abc", None),
])
def test_parse_post_id(value, expected):
    assert parse_post_id(value) == expected
