"""Every command builds a platform the same way: with schedule.yaml's credential variable names."""

from __future__ import annotations

import pytest

from publisher.errors import ConfigError
from publisher.settings import configured_platform

SCHEDULE = """
timezone: Asia/Shanghai
platforms:
  x:
    accounts:
      main:
        env: {api_key: MY_KEY, api_secret: MY_SECRET, access_token: MY_TOKEN, access_token_secret: MY_TOKEN_SECRET}
    slots: [{days: daily, times: ["09:00"]}]
"""


def test_custom_variable_names_from_schedule_yaml_are_used(tmp_path, monkeypatch):
    (tmp_path / "schedule.yaml").write_text(SCHEDULE)
    monkeypatch.chdir(tmp_path)
    for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.setenv(name, "default-" + name)  # present, but not the ones the schedule names
    with pytest.raises(ConfigError, match="MY_KEY"):
        configured_platform("x")
    for name in ("MY_KEY", "MY_SECRET", "MY_TOKEN", "MY_TOKEN_SECRET"):
        monkeypatch.setenv(name, "v-" + name)
    platform = configured_platform("x")
    assert platform.name == "x"


def test_without_a_schedule_the_default_names_are_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="X_API_KEY"):
        configured_platform("x")


def test_publisher_schedule_variable_points_at_the_file(tmp_path, monkeypatch):
    (tmp_path / "elsewhere.yaml").write_text(SCHEDULE)
    monkeypatch.setenv("PUBLISHER_SCHEDULE", str(tmp_path / "elsewhere.yaml"))
    with pytest.raises(ConfigError, match="MY_KEY"):
        configured_platform("x")


def test_accounts_check_shows_the_mastodon_instance_limit(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fake_mastodon import FakeMastodon
    from publisher.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DB", str(tmp_path / "q.db"))
    with FakeMastodon() as fake:
        env = {"MASTODON_API_BASE_URL": fake.base_url, "MASTODON_ACCESS_TOKEN": fake.token}
        result = CliRunner().invoke(cli, ["accounts", "check", "mastodon"], env=env)
    assert result.exit_code == 0, result.output
    assert "mastodon: ok" in result.output and "posts up to 500 characters" in result.output
    assert fake.token not in result.output


def test_a_missing_publisher_schedule_file_is_an_error_not_the_default_names(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SCHEDULE", str(tmp_path / "gone.yaml"))
    with pytest.raises(ConfigError, match="gone.yaml"):
        configured_platform("x")
