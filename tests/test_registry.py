"""publisher.platforms.registry: one spec per network, and everything that lists platforms reads it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from publisher.errors import ConfigError
from publisher.platforms import registry
from publisher.platforms.registry import NAMES, SPECS, spec


def test_every_platform_list_is_the_registrys():
    from publisher import lengths
    from publisher import settings as pipeline
    from publisher.schedule import config as schedule
    from publisher.cli import ingest, preview, queue

    assert NAMES == ("x", "mastodon", "bluesky")
    assert lengths.PLATFORMS == schedule.PLATFORMS == pipeline.ALL_PLATFORMS == ingest.PLATFORM_NAMES == NAMES
    assert preview.PLATFORM_CHOICES == (*NAMES, "all") and queue.PLATFORMS == NAMES
    assert dict(lengths.DEFAULT_LIMITS) == {"x": 280, "mastodon": 500, "bluesky": 300}
    assert schedule.DEFAULT_DAILY_QUOTA == {"x": 17, "mastodon": None, "bluesky": None}
    from publisher.media import choose

    assert choose.ALT_LIMITS == {"x": 1000, "mastodon": 1500, "bluesky": 2000}


def test_credential_names_come_from_the_specs():
    from publisher.schedule import config as schedule
    from publisher.platforms import x

    assert schedule.CREDENTIAL_ROLES["mastodon"] == {"instance": "MASTODON_API_BASE_URL",
                                                    "access_token": "MASTODON_ACCESS_TOKEN"}
    assert schedule.OPTIONAL_ROLES == {"x": {}, "mastodon": {}, "bluesky": {"service": "BLUESKY_SERVICE"}}
    assert x.ENV_VARS == ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
    for s in SPECS.values():
        assert schedule.CREDENTIAL_ROLES[s.name] == dict(s.credentials)
        assert all(name.startswith(s.name.upper()) for name in s.roles.values())


def test_the_registry_and_base_load_no_adapter_and_no_schedule():
    code = ("import sys, publisher.platforms.registry, publisher.platforms.base, publisher.lengths;"
            "print(sorted(m for m in sys.modules if m.startswith(('publisher.platforms.', 'publisher.schedule',"
            " 'tweepy', 'mastodon', 'atproto', 'pydantic'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['publisher.platforms.base', 'publisher.platforms.registry']"


@pytest.mark.parametrize("value, expected", [
    ("1234567890", ("1234567890", "https://x.com/i/status/1234567890")),
    (" https://x.com/someone/status/42?s=20 ", ("42", "https://x.com/i/status/42")),
    ("https://twitter.com/i/web/status/7", ("7", "https://x.com/i/status/7")),
    ("https://mobile.twitter.com/a/statuses/8", ("8", "https://x.com/i/status/8")),
    ("https://example.com/a/status/9", None),
    ("abc", None),
])
def test_x_post_links(value, expected):
    ref = spec("x").parse_post_ref(value)
    assert (ref.id, ref.url) == expected if expected else ref is None


def test_other_networks_take_the_id_as_written_and_keep_a_link():
    ref = spec("mastodon").parse_post_ref(" https://m.example/@me/111 ")
    assert (ref.id, ref.url) == ("https://m.example/@me/111", "https://m.example/@me/111")
    ref = spec("bluesky").parse_post_ref("at://did:plc:abc/app.bsky.feed.post/3k")
    assert (ref.id, ref.url) == ("at://did:plc:abc/app.bsky.feed.post/3k", None)


def test_unknown_platform_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown platform 'myspace'; known: bluesky, mastodon, x"):
        spec("myspace")


def test_load_with_default_names_uses_the_adapters_from_env(monkeypatch):
    for name in registry.X.credentials.values():
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="X_API_KEY"):
        spec("x").load()
    with pytest.raises(ConfigError, match="X_API_KEY"):  # naming the defaults is no custom name
        spec("x").load({"api_key": "X_API_KEY"})


def test_load_with_custom_names_reads_those_variables_and_never_shows_values(monkeypatch):
    names = {"api_key": "K1", "api_secret": "S1", "access_token": "T1", "access_token_secret": "TS1"}
    for var in names.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("K1", "secret-value-k")
    with pytest.raises(ConfigError) as caught:
        spec("x").load(names)
    assert "S1, T1, TS1" in str(caught.value) and "secret-value" not in str(caught.value)
    for var in names.values():
        monkeypatch.setenv(var, "value-" + var)
    platform = spec("x").load(names)
    assert platform.name == "x" and platform.env_names == ("K1", "S1", "T1", "TS1")
    assert "publisher.platforms.x" in sys.modules


def test_custom_names_where_the_adapter_does_not_take_them_are_refused():
    with pytest.raises(ConfigError, match="mastodon: custom environment variable names are not supported"):
        spec("mastodon").load({"access_token": "MY_TOKEN"})


@pytest.mark.parametrize("name, value, author", [
    ("x", "https://x.com/someone/status/42", "someone"),
    ("x", "https://twitter.com/i/web/status/7", None),
    ("x", "42", None),
    ("bluesky", "at://did:plc:abc/app.bsky.feed.post/3k", "did:plc:abc"),
    ("bluesky", "https://bsky.app/profile/me.bsky.social/post/3k", "me.bsky.social"),
    ("bluesky", "3k", None),
])
def test_the_account_a_post_link_names(name, value, author):
    assert spec(name).post_author(value) == author


def test_mastodon_links_name_no_account_we_check():
    assert spec("mastodon").post_author is None
