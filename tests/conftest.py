"""Shared fixtures. Every test gets its own home folder; the network is blocked but for loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from netguard_impl import install as _install_netguard  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_effdbda2e4cb0846.txt"
NETGUARD_DIR = Path(__file__).parent / "netguard"

# Variables that would make a test touch the operator's real accounts or files.
_SCRUB_PREFIXES = ("PUBLISHER_", "X_", "TWITTER_", "MASTODON_", "BLUESKY_", "BSKY_", "ARGOS_")

_install_netguard()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite the files in tests/golden/ from the current output instead of comparing.")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """A private PUBLISHER_HOME, no credentials, and bugs shown as tracebacks."""
    for key in list(os.environ):
        if key.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PUBLISHER_HOME", str(home))
    monkeypatch.setenv("PUBLISHER_DEBUG", "1")
    monkeypatch.setenv("PUBLISHER_TEST_NETGUARD", "1")
    monkeypatch.chdir(tmp_path)
    from publisher import config, workspace
    from publisher import clock as zone

    workspace.reset()  # found again from this test's folder
    zone.reset()
    monkeypatch.setattr(config, "DATABASE_MUST_EXIST", False)
    return home


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture
def outbox(db_target, monkeypatch):
    """The queue the commands use, open, on each backend (``db_target``): SQLite at this test's
    $PUBLISHER_HOME/publisher.db, or PostgreSQL through PUBLISHER_DB. Closed after."""
    from publisher.queue.outbox import Outbox

    if isinstance(db_target, str):  # PostgreSQL: the commands use it through PUBLISHER_DB
        monkeypatch.setenv("PUBLISHER_DB", db_target)
    box = Outbox.open()  # PUBLISHER_DB or $PUBLISHER_HOME/publisher.db, as the commands use
    yield box
    box.close()


@pytest.fixture
def models(tmp_path, tmp_path_factory, monkeypatch) -> Path:
    """A models folder ($PUBLISHER_MODELS_DIR) with the tiny real zh->en argos package installed."""
    from tinymodel import install_tiny_package

    directory = tmp_path / "models"
    install_tiny_package(tmp_path_factory, directory)
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(directory))
    return directory


@pytest.fixture
def fake_x(monkeypatch):
    """The fake X on loopback, every requests session routed to it, its credentials in the env."""
    from fake_x import FakeX, x_env

    with FakeX() as fake, fake.installed():
        for name, value in x_env(fake).items():
            monkeypatch.setenv(name, value)
        yield fake


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process running this checkout's publisher, with the net guard."""
    env = dict(os.environ)
    paths = [str(NETGUARD_DIR), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PUBLISHER_TEST_NETGUARD"] = "1"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120, input: str | None = None,
            **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m publisher ARGS`` in a real subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        **kwargs,
    )


# --- PostgreSQL: one real server per session (tests/pgserver.py) -------------------------------


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for this session. Skipped with the reason when it cannot start (no
    binaries, no psycopg); under CI=true that is a failure, never a skip."""
    try:
        import psycopg  # noqa: F401

        from pgserver import TempPostgres

        server = TempPostgres().start()
    except Exception as exc:  # noqa: BLE001 - the reason is the message
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests: the server cannot start under CI: {exc}")
        pytest.skip(f"PostgreSQL tests: no server ({exc})")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A database URL (a fresh schema on the session's server)."""
    return pg_server.fresh_url()


def pytest_collection_modifyitems(config, items):
    """Tests marked sqlite_only keep only their SQLite instance of ``db_target``."""
    items[:] = [item for item in items if not (item.get_closest_marker("sqlite_only")
                                               and "[postgresql" in item.nodeid)]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path):
    """The queue database for a contract test: a SQLite file, or PostgreSQL (one schema per test)."""
    if request.param == "sqlite":
        return tmp_path / "queue.db"
    return request.getfixturevalue("pg_url")
