"""The workspace: the folder holding schedule.yaml, found like git finds its repository.

Every command starts by finding it: ``--workspace DIR``, else ``$PUBLISHER_WORKSPACE``, else the
first folder holding a ``schedule.yaml`` from the current folder upward (so ``publisher
schedule`` works from ``inbox/``). Then, before any path is resolved:

* ``.env`` in the workspace is loaded into the environment (variables already set win), so
  every ``PUBLISHER_*`` setting (``PUBLISHER_DB``, ``PUBLISHER_HOME``...) and the credentials
  are the same for the daemon under systemd (which loads that file) and for the commands a
  person types; a relative path in it is relative to the workspace;
* schedule.yaml, ``glossary.yaml`` and ``templates/`` are the workspace's.

Without a workspace the current folder plays its part (``./.env``, ``./glossary.yaml``...), as
before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import ConfigError

SCHEDULE_NAME = "schedule.yaml"
#: Settings from .env that are paths: relative values are taken from the workspace.
PATH_SETTINGS = ("PUBLISHER_HOME", "PUBLISHER_DB", "PUBLISHER_MODELS_DIR", "PUBLISHER_SCHEDULE",
                 "PUBLISHER_TRANSLATION_CACHE", "ARGOS_PACKAGES_DIR")


@dataclass(frozen=True)
class Workspace:
    root: Path
    how: str
    """How it was found: --workspace, $PUBLISHER_WORKSPACE, or "found from the current folder"."""

    @property
    def schedule(self) -> Path:
        return self.root / SCHEDULE_NAME

    @property
    def env_file(self) -> Path:
        return self.root / ".env"


_ACTIVE: Workspace | None = None
_ACTIVATED = False


def find(given: Path | str | None = None, start: Path | None = None) -> Workspace | None:
    """The workspace (see the module docstring), or None when there is none."""
    explicit, how = (given, "--workspace") if given else (os.environ.get("PUBLISHER_WORKSPACE"), "$PUBLISHER_WORKSPACE")
    if explicit:
        root = Path(explicit).expanduser()
        if not root.is_dir():
            raise ConfigError(f"{root}: no such folder ({how}); `publisher init {root}` makes one")
        return Workspace(root.resolve(), how)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SCHEDULE_NAME).is_file():
            return Workspace(folder, "found from the current folder")
    return None


def activate(given: Path | str | None = None, *, fresh: bool = False) -> Workspace | None:
    """Find the workspace and load its .env (once per process, unless ``given`` or ``fresh``:
    each command does so as it starts). Relative path settings from .env are made absolute,
    from the workspace."""
    global _ACTIVE, _ACTIVATED
    from publisher import config

    if _ACTIVATED and given is None and not fresh:
        return _ACTIVE
    _ACTIVATED = True
    _ACTIVE = find(given)
    if _ACTIVE is not None:
        _load_env(_ACTIVE.env_file, _ACTIVE.root)
        config._ENV_LOADED = True  # the workspace's .env replaces ./.env
    return _ACTIVE


def active() -> Workspace | None:
    return _ACTIVE if _ACTIVATED else activate()


def reset() -> None:
    """Forget the workspace (tests)."""
    global _ACTIVE, _ACTIVATED
    _ACTIVE, _ACTIVATED = None, False


def _load_env(env_file: Path, root: Path) -> None:
    if not env_file.is_file():
        return
    from dotenv import dotenv_values

    for key, value in dotenv_values(env_file).items():
        if value is None or key in os.environ:
            continue
        if key in PATH_SETTINGS and value and not Path(value).expanduser().is_absolute():
            value = str(root / value)
        os.environ[key] = value


def folder() -> Path:
    """Where schedule.yaml, glossary.yaml, templates/ and .env are looked for: the workspace,
    else the current folder."""
    ws = active()
    return ws.root if ws is not None else Path.cwd()
