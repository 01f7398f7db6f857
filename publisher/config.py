"""Where publisher keeps its files, and settings read from the environment.

Secrets are read only from the environment (a ``.env`` file in the working directory is
loaded into it first, without overriding variables already set). Nothing here writes a
secret anywhere.

Environment:
  PUBLISHER_HOME        data folder (default: the user's data dir, e.g. ~/.local/share/publisher)
  PUBLISHER_DB          queue database (default: $PUBLISHER_HOME/publisher.db)
  PUBLISHER_MODELS_DIR  translation packages (default: $ARGOS_PACKAGES_DIR, else $PUBLISHER_HOME/models)
  PUBLISHER_MAX_FILE_BYTES  largest article file accepted (default 2 MB)
  PUBLISHER_SCHEDULE    the schedule file (default: ./schedule.yaml)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_ENV_LOADED = False


def load_dotenv_once(path: Path | None = None) -> None:
    """Load ``.env`` (from the working directory) into the environment, once, never overriding."""
    global _ENV_LOADED
    if _ENV_LOADED:
        return
    _ENV_LOADED = True
    env_file = path or Path.cwd() / ".env"
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
        home_env = os.environ.get("PUBLISHER_HOME")
        if home_env:
            home = Path(home_env).expanduser()
        else:
            from platformdirs import user_data_dir

            home = Path(user_data_dir("publisher", appauthor=False))
        db = Path(os.environ.get("PUBLISHER_DB") or home / "publisher.db").expanduser()
        models_env = os.environ.get("PUBLISHER_MODELS_DIR") or os.environ.get("ARGOS_PACKAGES_DIR")
        models = Path(models_env).expanduser() if models_env else home / "models"
        return cls(home=home, db=db, models=models)


def schedule_path(given: Path | str | None = None) -> Path:
    """The schedule file every command uses: ``given``, else $PUBLISHER_SCHEDULE, else ./schedule.yaml."""
    if given is not None:
        return Path(given)
    return Path(os.environ.get("PUBLISHER_SCHEDULE") or "schedule.yaml")


def env_secret(name: str) -> str | None:
    """A secret from the environment (after loading .env); empty counts as missing."""
    load_dotenv_once()
    value = os.environ.get(name, "").strip()
    return value or None
