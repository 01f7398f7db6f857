"""Bluesky: the real atproto client against a real PDS (@atproto/dev-env) on loopback.

Records are read back with com.atproto.repo.list_records / get_record (there is no AppView).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import socket
import stat
import time

import httpx
import pytest
import regex

from pds import pds_network  # noqa: F401  (the session fixture)
from publisher.errors import ConfigError
from publisher.platforms.base import AuthFailed, OutcomeUnknown, Platform, PostRef, RateLimited, Rejected, Transient
from publisher.platforms.bluesky import BlueskyPlatform
from publisher.platforms.bluesky_record import find_links, record_key

POSTS = "app.bsky.feed.post"
TID = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


# ------------------------------------------------------------------------------------------
# helpers


class Interceptor(httpx.BaseTransport):
    """Sits between the adapter and the PDS: passes requests on, or plays a scripted fault once."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.faults: list[tuple[str, object]] = []
        self.seen: list[str] = []

    def once(self, method_suffix: str, fault) -> None:
        self.faults.append((method_suffix, fault))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url.path)
        for i, (suffix, fault) in enumerate(self.faults):
            if request.url.path.endswith(suffix):
                del self.faults[i]
                return fault(request, self.inner)
        return self.inner.handle_request(request)


def deliver_then_time_out(request, inner):
    response = inner.handle_request(request)
    response.read()
    response.close()
    assert response.status_code == 200, response.content
    raise httpx.ReadTimeout("timed out (injected after the PDS answered)", request=request)


def refuse_connection(request, inner):
    raise httpx.ConnectError("connection refused (injected)", request=request)


def record_not_found(request, inner):
    return httpx.Response(400, json={"error": "RecordNotFound", "message": "Could not locate record"})


_READERS: dict = {}


def reader(network, account):
    """A separate client, logged in with the account's main password, to read records back."""
    from atproto import Client

    if account.did not in _READERS:
        client = Client(base_url=network.pds_url)
        client.login(account.handle, account.password, fetch_bsky_profile=False)
        _READERS[account.did] = client
    return _READERS[account.did]


def records(client, did) -> list:
    from atproto import models

    out = client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=did, collection=POSTS, limit=100))
    return list(out.records)


@pytest.fixture
def account(pds_network):
    return pds_network.create_account()


@pytest.fixture
def platform(pds_network, account, isolated_env):
    return BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url)


# ------------------------------------------------------------------------------------------
# pure parts


def test_record_key_is_a_stable_tid_per_idempotency_key():
    keys = {record_key(f"publication-7/post-{i}") for i in range(500)}
    assert len(keys) == 500
    assert all(TID.match(k) for k in keys)
    assert record_key("publication-7/post-0") == record_key("publication-7/post-0")
    with pytest.raises(ValueError):
        record_key("")


def test_only_http_links_are_found_not_mentions_tags_or_bare_domains():
    text = "见https://example.com/a。又 (see https://x.org/p_(1)), @alice.bsky.social #AI $TSLA example.com."
    assert [(s.url, text[s.start:s.end]) for s in find_links(text)] == [
        ("https://example.com/a", "https://example.com/a"),
        ("https://x.org/p_(1)", "https://x.org/p_(1)"),
    ]


def test_from_env_names_each_missing_variable_and_keeps_secrets_out(monkeypatch):
    with pytest.raises(ConfigError, match="BLUESKY_HANDLE"):
        BlueskyPlatform.from_env()
    monkeypatch.setenv("BLUESKY_HANDLE", "me.example.com")
    with pytest.raises(ConfigError, match="BLUESKY_APP_PASSWORD"):
        BlueskyPlatform.from_env()
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    monkeypatch.setenv("BLUESKY_SERVICE", "ftp://nope")
    with pytest.raises(ConfigError, match="BLUESKY_SERVICE"):
        BlueskyPlatform.from_env()
    monkeypatch.setenv("BLUESKY_SERVICE", "http://127.0.0.1:9/")
    platform = BlueskyPlatform.from_env()
    assert isinstance(platform, Platform)
    assert platform.service == "http://127.0.0.1:9"
    assert str(platform.session_path) == os.path.join(os.environ["PUBLISHER_HOME"], "bluesky-session.json")
    assert "abcd-efgh-ijkl-mnop" not in repr(platform)


@pytest.mark.parametrize("ci, outcome", [("true", "1 error"), ("", "1 skipped")])
def test_an_unavailable_pds_fails_under_ci_and_skips_elsewhere(tmp_path, ci, outcome):
    import subprocess
    import sys
    from pathlib import Path

    from conftest import subprocess_env

    (tmp_path / "test_uses_pds.py").write_text(
        "import pds\n"
        "from pds import pds_network\n"
        "def broken(*args, **kwargs):\n"
        "    raise pds.PdsUnavailable('injected: node would not start')\n"
        "pds.ensure_installed = lambda *a, **k: 0.0\n"
        "pds.start = broken\n"
        "def test_needs_the_pds(pds_network):\n"
        "    pass\n")
    env = subprocess_env(CI=ci)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_uses_pds.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in proc.stdout, proc.stdout + proc.stderr
    assert "injected: node would not start" in proc.stdout
    assert proc.returncode == (1 if ci else 0)


def test_connection_refused_is_transient(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    platform = BlueskyPlatform("me.test", "pw-pw-pw-pw", service=f"http://127.0.0.1:{port}",
                               session_path=tmp_path / "s.json")
    with pytest.raises(Transient):
        platform.check()
    with pytest.raises(Transient):
        platform.post("hello", reply_to=None, root=None, idempotency_key="k")


# ------------------------------------------------------------------------------------------
# against the real PDS


@pytest.mark.slow
def test_thread_has_root_and_parent_refs_langs_and_byte_exact_link_facets(pds_network, account, platform):
    texts = [
        "快讯 🚀 Kling goes viral: https://example.com/新闻/可灵?id=1&x=2 👨‍👩‍👧 read more.",
        "Original (原文): https://mp.weixin.qq.com/s/AbC-1_2. By @someone.bsky.social #AI $TSLA 🎉",
        "Machine-translated from Chinese. 机器翻译 ✨ https://arxiv.org/abs/2406.01234",
    ]
    refs: list[PostRef] = []
    for i, text in enumerate(texts):
        refs.append(platform.post(text, reply_to=refs[-1] if refs else None, root=refs[0] if refs else None,
                                  idempotency_key=f"pub-1/{i}"))

    assert all(r.id.startswith(f"at://{account.did}/{POSTS}/") for r in refs)
    assert all(r.extra["cid"] and r.url.endswith(r.id.rsplit("/", 1)[1]) for r in refs)
    assert platform.check().handle == account.handle and platform.check().id == account.did

    got = {r.uri: r for r in records(reader(pds_network, account), account.did)}
    assert set(got) == {r.id for r in refs}
    first, second, third = (got[r.id] for r in refs)
    assert [first.value.text, second.value.text, third.value.text] == texts
    for record in (first, second, third):
        assert record.value.langs == ["en"]
    assert first.value.reply is None
    assert (second.value.reply.root.uri, second.value.reply.root.cid) == (refs[0].id, refs[0].extra["cid"])
    assert (second.value.reply.parent.uri, second.value.reply.parent.cid) == (refs[0].id, refs[0].extra["cid"])
    assert (third.value.reply.root.uri, third.value.reply.root.cid) == (refs[0].id, refs[0].extra["cid"])
    assert (third.value.reply.parent.uri, third.value.reply.parent.cid) == (refs[1].id, refs[1].extra["cid"])
    assert got[refs[1].id].cid == refs[1].extra["cid"]

    def facets(record):
        data = record.value.text.encode("utf-8")
        return [(data[f.index.byte_start:f.index.byte_end].decode("utf-8"), f.features[0].py_type,
                 f.features[0].uri) for f in record.value.facets or []]

    link = "app.bsky.richtext.facet#link"
    assert facets(first) == [("https://example.com/新闻/可灵?id=1&x=2", link,
                              "https://example.com/%E6%96%B0%E9%97%BB/%E5%8F%AF%E7%81%B5?id=1&x=2")]
    # the trailing full stop is not part of the link; mention, tag and cashtag get no facet
    assert facets(second) == [("https://mp.weixin.qq.com/s/AbC-1_2", link, "https://mp.weixin.qq.com/s/AbC-1_2")]
    assert facets(third) == [("https://arxiv.org/abs/2406.01234", link, "https://arxiv.org/abs/2406.01234")]
    # the byte offset, spelled out: 快讯 is 6 bytes, 🚀 4, two spaces, then 18 ASCII bytes
    start = texts[0].encode().index(b"https://")
    assert start == len("快讯 🚀 Kling goes viral: ".encode()) == 30
    assert first.value.facets[0].index.byte_start == start

    assert pds_network.blocked_attempts() == []


@pytest.mark.slow
def test_reply_to_a_reference_without_cid_reads_it_from_the_pds(pds_network, account, platform):
    top = platform.post("top", reply_to=None, root=None, idempotency_key="pub-2/0")
    bare = PostRef(id=top.id)  # as if restored from a store that kept only the URI
    reply = platform.post("reply", reply_to=bare, root=bare, idempotency_key="pub-2/1")
    got = {r.uri: r for r in records(reader(pds_network, account), account.did)}
    assert got[reply.id].value.reply.parent.cid == top.extra["cid"]


@pytest.mark.slow
def test_same_idempotency_key_never_makes_a_second_record(pds_network, account, platform):
    first = platform.post("once only 一次", reply_to=None, root=None, idempotency_key="pub-3/0")
    again = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url).post(
        "once only 一次", reply_to=None, root=None, idempotency_key="pub-3/0")
    assert again == first and again.extra["cid"] == first.extra["cid"]
    with pytest.raises(Rejected, match="different post"):
        platform.post("other text under the same key", reply_to=None, root=None, idempotency_key="pub-3/0")
    assert [r.uri for r in records(reader(pds_network, account), account.did)] == [first.id]


@pytest.mark.slow
def test_the_pds_itself_refuses_a_second_record_under_the_key(pds_network, account):
    """Even if the read before writing misses the record, the write cannot duplicate it."""
    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    first = platform.post("race", reply_to=None, root=None, idempotency_key="pub-4/0")
    wire.once("com.atproto.repo.getRecord", record_not_found)  # the pre-check "misses" it
    again = platform.post("race", reply_to=None, root=None, idempotency_key="pub-4/0")
    assert again == first
    assert wire.seen.count("/xrpc/com.atproto.repo.createRecord") == 2  # the PDS was asked twice...
    assert len(records(reader(pds_network, account), account.did)) == 1  # ...and kept one record


@pytest.mark.slow
def test_timeout_after_sending_is_settled_by_reading_the_record_key(pds_network, account):
    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    wire.once("com.atproto.repo.createRecord", deliver_then_time_out)
    ref = platform.post("landed despite the timeout", reply_to=None, root=None, idempotency_key="pub-5/0")
    (record,) = records(reader(pds_network, account), account.did)
    assert record.uri == ref.id and record.cid == ref.extra["cid"]


@pytest.mark.slow
def test_timeout_with_unknown_outcome_then_a_safe_retry(pds_network, account):
    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    platform.check()
    wire.once("com.atproto.repo.createRecord", deliver_then_time_out)
    wire.faults.append(("com.atproto.repo.getRecord", lambda r, i: i.handle_request(r)))  # the pre-check passes
    wire.faults.append(("com.atproto.repo.getRecord", refuse_connection))  # the follow-up lookup fails
    with pytest.raises(OutcomeUnknown, match="may exist"):
        platform.post("maybe posted", reply_to=None, root=None, idempotency_key="pub-6/0")
    ref = platform.post("maybe posted", reply_to=None, root=None, idempotency_key="pub-6/0")
    assert [r.uri for r in records(reader(pds_network, account), account.did)] == [ref.id]


@pytest.mark.slow
def test_server_error_before_writing_is_transient_and_nothing_is_posted(pds_network, account):
    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    wire.once("com.atproto.repo.createRecord",
              lambda r, i: httpx.Response(503, json={"error": "Unavailable", "message": "try later"}))
    with pytest.raises(Transient, match="503"):
        platform.post("later", reply_to=None, root=None, idempotency_key="pub-7/0")
    assert records(reader(pds_network, account), account.did) == []


@pytest.mark.slow
def test_rate_limit_carries_the_reset_time(pds_network, account):
    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    reset = int(time.time()) + 3600
    wire.once("com.atproto.repo.createRecord", lambda r, i: httpx.Response(
        429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"ratelimit-limit": "35000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
                 "ratelimit-policy": "35000;w=86400"}))
    with pytest.raises(RateLimited) as caught:
        platform.post("too many", reply_to=None, root=None, idempotency_key="pub-8/0")
    assert caught.value.reset_at == dt.datetime.fromtimestamp(reset, dt.timezone.utc)
    assert caught.value.daily is True


@pytest.mark.slow
def test_length_limits_are_enforced_before_sending(pds_network, account, platform):
    with pytest.raises(Rejected, match="301 characters, over the bluesky limit of 300"):
        platform.post("字" * 301, reply_to=None, root=None, idempotency_key="pub-9/0")
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    with pytest.raises(Rejected, match="3000-byte"):
        platform.post(family * 121, reply_to=None, root=None, idempotency_key="pub-9/1")
    platform.post("字" * 300, reply_to=None, root=None, idempotency_key="pub-9/2")  # exactly at the limit
    assert len(records(reader(pds_network, account), account.did)) == 1


# ------------------------------------------------------------------------------------------
# sessions


def _session_file(home) -> dict:
    return json.loads((home / "bluesky-session.json").read_text())


@pytest.mark.slow
def test_session_is_stored_0600_and_reused_by_the_next_run(pds_network, account, isolated_env):
    wire = Interceptor()
    first = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    first.post("one", reply_to=None, root=None, idempotency_key="pub-10/0")
    first.post("two", reply_to=None, root=None, idempotency_key="pub-10/1")
    path = isolated_env / "bluesky-session.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = _session_file(isolated_env)
    assert saved["identifier"] == account.handle and saved["service"] == pds_network.pds_url
    assert account.app_password not in path.read_text()

    # A later run: the password is wrong now, yet it posts, because it never logs in again.
    wire2 = Interceptor()
    second = BlueskyPlatform(account.handle, "wrong-wrong-wrong-wrong", service=pds_network.pds_url, transport=wire2)
    second.post("three", reply_to=None, root=None, idempotency_key="pub-10/2")
    assert wire.seen.count("/xrpc/com.atproto.server.createSession") == 1
    assert "/xrpc/com.atproto.server.createSession" not in wire2.seen
    assert _session_file(isolated_env)["session"] == saved["session"]
    assert len(records(reader(pds_network, account), account.did)) == 3


@pytest.mark.slow
def test_session_for_another_account_is_not_used(pds_network, account, isolated_env):
    other = pds_network.create_account()
    BlueskyPlatform(other.handle, other.app_password, service=pds_network.pds_url).check()
    ref = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url).post(
        "mine", reply_to=None, root=None, idempotency_key="pub-11/0")
    assert ref.id.startswith(f"at://{account.did}/")
    assert _session_file(isolated_env)["identifier"] == account.handle


@pytest.mark.slow
def test_expiring_session_is_refreshed_and_written_back(pds_network, account, isolated_env, monkeypatch):
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url)
    platform.check()
    before = _session_file(isolated_env)["session"]

    from atproto_client.client.methods_mixin.time import TimeMethodsMixin

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    monkeypatch.setattr(TimeMethodsMixin, "get_current_time", lambda self: later)
    wire = Interceptor()
    BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire).post(
        "after a refresh", reply_to=None, root=None, idempotency_key="pub-12/0")
    assert "/xrpc/com.atproto.server.refreshSession" in wire.seen
    assert "/xrpc/com.atproto.server.createSession" not in wire.seen
    after = _session_file(isolated_env)["session"]
    assert after != before
    assert after.split(":::")[3] != before.split(":::")[3]  # a new refresh token


def _fake_jwt(did: str) -> str:
    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return ".".join([b64({"typ": "at+jwt", "alg": "HS256"}),
                     b64({"scope": "com.atproto.access", "sub": did, "iat": now, "exp": now + 3600}), "c2lnbmF0dXJl"])


@pytest.mark.slow
def test_refused_stored_session_is_replaced_by_a_new_login(pds_network, account, isolated_env):
    BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url).check()
    data = _session_file(isolated_env)
    parts = data["session"].split(":::")
    parts[2] = parts[3] = _fake_jwt(account.did)  # well-formed tokens the PDS never issued
    data["session"] = ":::".join(parts)
    (isolated_env / "bluesky-session.json").write_text(json.dumps(data))

    wire = Interceptor()
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    ref = platform.post("still works", reply_to=None, root=None, idempotency_key="pub-13/0")
    assert wire.seen.count("/xrpc/com.atproto.server.createSession") == 1
    assert _session_file(isolated_env)["session"].split(":::")[2] != parts[2]
    assert [r.uri for r in records(reader(pds_network, account), account.did)] == [ref.id]


@pytest.mark.slow
def test_revoked_app_password_is_auth_failed_without_leaking_secrets(pds_network, account, isolated_env, caplog,
                                                                   monkeypatch):
    """Revoking the app password kills the refresh token; the access token lives until it expires."""
    from atproto import models
    from atproto_client.client.methods_mixin.time import TimeMethodsMixin

    caplog.set_level(logging.DEBUG)
    platform = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url)
    platform.post("before revocation", reply_to=None, root=None, idempotency_key="pub-14/0")
    session = _session_file(isolated_env)["session"]
    reader(pds_network, account).com.atproto.server.revoke_app_password(
        models.ComAtprotoServerRevokeAppPassword.Data(name="publisher tests"))

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)  # the access token needs refreshing
    monkeypatch.setattr(TimeMethodsMixin, "get_current_time", lambda self: later)
    wire = Interceptor()
    after = BlueskyPlatform(account.handle, account.app_password, service=pds_network.pds_url, transport=wire)
    with pytest.raises(AuthFailed) as caught:
        after.post("after revocation", reply_to=None, root=None, idempotency_key="pub-14/1")
    # it tried the stored session (refresh refused), then the app password (refused), then stopped
    assert wire.seen.count("/xrpc/com.atproto.server.refreshSession") == 1
    assert wire.seen.count("/xrpc/com.atproto.server.createSession") == 1
    assert "/xrpc/com.atproto.repo.createRecord" not in wire.seen
    assert not (isolated_env / "bluesky-session.json").exists()
    message = str(caught.value)
    assert message.startswith("bluesky: ") and account.handle in message
    secrets = [account.app_password, account.password, *session.split(":::")[2:4]]
    for secret in secrets:
        assert secret not in message
        assert secret not in caplog.text
        assert secret not in repr(after)
    assert len(records(reader(pds_network, account), account.did)) == 1
