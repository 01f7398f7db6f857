"""Where publisher keeps its files, and settings read from the environment.

Secrets are read only from the environment (a ``.env`` file in the working directory is
loaded into it first, without overriding variables already set). Nothing here writes a
secret anywhere.

Environment:
  PUBLISHER_HOME        data folder (default: the user's data dir, e.g. ~/.local/share/publisher)
  PUBLISHER_DB          queue database (default: $PUBLISHER_HOME/publisher.db)
  PUBLISHER_MODELS_DIR  translation packages (default: $ARGOS_PACKAGES_DIR, else $PUBLISHER_HOME/models)
  PUBLISHER_MAX_FILE_BYTES  largest article file accepted (default 2 MB)
  PUBLISHER_SCHEDULE    the schedule file (default: the workspace's schedule.yaml, see publisher.workspace)
  PUBLISHER_WORKSPACE   the workspace folder (default: found from the current folder upward)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_ENV_LOADED = False
#: Set by the commands that only read the queue: opening a database that is not there is an
#: error (see require_database) instead of creating an empty one.
DATABASE_MUST_EXIST = False


def load_dotenv_once(path: Path | None = None) -> None:
    """Load ``.env`` (from the working directory) into the environment, once, never overriding."""
    global _ENV_LOADED
    if _ENV_LOADED:
        return
    _ENV_LOADED = True
    env_file = path or Path.cwd() / ".env"
    if path is None:
        from publisher import workspace

        if workspace.activate() is not None:  # the workspace's .env, relative paths from there
            return
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


@dataclass(frozen=True)
class Paths:
    home: Path
    db: Path
    models: Path

    @classmethod
    def from_env(cls) -> "Paths":
        load_dotenv_once()  # PUBLISHER_* settings from the workspace's .env count
        home_env = os.environ.get("PUBLISHER_HOME")
        if home_env:
            home = Path(home_env).expanduser()
        else:
            from platformdirs import user_data_dir

            home = Path(user_data_dir("publisher", appauthor=False))
        from publisher.queue.database import target

        db = target(os.environ.get("PUBLISHER_DB") or home / "publisher.db")  # a path, or a postgresql:// URL
        models_env = os.environ.get("PUBLISHER_MODELS_DIR") or os.environ.get("ARGOS_PACKAGES_DIR")
        models = Path(models_env).expanduser() if models_env else home / "models"
        return cls(home=home, db=db, models=models)


def schedule_path(given: Path | str | None = None) -> Path:
    """The schedule file every command uses: ``given``, else $PUBLISHER_SCHEDULE, else the
    workspace's schedule.yaml (found from the current folder upward), else ./schedule.yaml."""
    if given is not None:
        return Path(given)
    load_dotenv_once()
    if os.environ.get("PUBLISHER_SCHEDULE"):
        return Path(os.environ["PUBLISHER_SCHEDULE"])
    from publisher import workspace

    ws = workspace.active()
    if ws is None or ws.root == Path.cwd().resolve():
        return Path("schedule.yaml")
    return ws.schedule


def env_secret(name: str) -> str | None:
    """A secret from the environment (after loading .env); empty counts as missing."""
    load_dotenv_once()
    value = os.environ.get(name, "").strip()
    return value or None


def database_origin() -> str:
    """Where the queue database's path comes from, for messages."""
    from publisher import workspace

    if os.environ.get("PUBLISHER_DB"):
        ws = workspace.active()
        if ws is not None and ws.env_file.is_file():
            from dotenv import dotenv_values

            if "PUBLISHER_DB" in dotenv_values(ws.env_file):
                return f"PUBLISHER_DB in {ws.env_file}"
        return "PUBLISHER_DB"
    if os.environ.get("PUBLISHER_HOME"):
        return "$PUBLISHER_HOME/publisher.db"
    return "the default location"


def require_database() -> Path:
    """The queue database's path; a ConfigError when there is no file there."""
    from publisher.errors import ConfigError

    db = Paths.from_env().db
    if isinstance(db, str):  # a PostgreSQL URL: the server says whether it is there
        return db  # type: ignore[return-value]
    if not db.exists():
        raise ConfigError(f"{db}: no queue database there ({database_origin()}); `publisher init` or the first "
                          "`publisher ingest` creates it — or fix the path if it is mistyped")
    return db


def env_bytes(name: str, default: int) -> int:
    """A size limit in bytes from the environment variable ``name`` (else ``default``); a value
    that is not a whole number is a ConfigError naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        from publisher.errors import ConfigError

        raise ConfigError(f"{name} must be a number of bytes, not {raw!r}") from None

def write_atomically(path: Path, data: bytes | str, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees half of it: a hidden temporary file
    in the same folder (scanners skip hidden files), flushed to disk, then renamed over ``path``.
    Text is written as UTF-8; the file gets ``mode``."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
