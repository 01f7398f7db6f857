"""`publisher init [DIR]`: a workspace to start from."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"

#: what init writes: path in the workspace -> file in publisher/defaults (None: a folder)
FILES: dict[str, str | None] = {
    "schedule.yaml": "schedule.yaml",
    ".env.example": "env.example",
    "glossary.yaml": "glossary.yaml.example",
    "templates/README.md": "templates.README.md",
    "templates/thread.j2.example": "templates/thread.j2",
    "publisher.service": "publisher.service",
}
FOLDERS = ("seeds", "inbox", "templates")


def _exe() -> str:
    found = shutil.which("publisher")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return found
    return f"{sys.executable} -m publisher"


@click.command("init")
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Make a workspace in FOLDER (default: here): seeds/, inbox/, a commented schedule.yaml,
    templates/ to override, glossary.yaml, .env.example and a systemd unit; and the queue
    database, when there is none yet.

    Refuses to overwrite anything: when one of these files is already there, nothing is written.
    """
    from publisher import workspace
    from publisher.config import Paths
    from publisher.errors import ConfigError
    from publisher.queue.outbox import Outbox

    root = folder.expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: not a folder")
    present = [name for name in FILES if (root / name).exists()]
    present += [name for name in FOLDERS if (root / name).exists() and not (root / name).is_dir()]
    if present:
        raise ConfigError(f"{root}: already has {', '.join(present)}; `publisher init` never overwrites "
                          "(move them away, or pick another folder)")
    root.mkdir(parents=True, exist_ok=True)
    absolute = root.resolve()
    for name in FOLDERS:
        (root / name).mkdir(exist_ok=True)
    for name, source in FILES.items():
        text = (DEFAULTS / source).read_text(encoding="utf-8")  # type: ignore[operator]
        if name == "publisher.service":
            text = text.replace("{root}", str(absolute)).replace("{exe}", _exe())
        target = root / name
        with open(target, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(text)
    click.echo(f"Made a workspace in {absolute}:")
    for name in ("seeds/", "inbox/", *FILES):
        click.echo(f"  {name}")
    ws = workspace.activate(absolute)
    db = Paths.from_env().db
    if isinstance(db, str):  # PUBLISHER_DB=postgresql://...
        box = Outbox.open(db)
        box.close()
        click.echo(f"Queue database: {box.path} (migrated).")
    elif db.exists():
        click.echo(f"Queue database: {db} (already there; kept as it is).")
    else:
        Outbox.open(db).close()
        click.echo(f"Queue database: created {db}.")
    assert ws is not None
    click.echo("")
    click.echo("Next:")
    click.echo(f"  cd {root}")
    click.echo("  cp .env.example .env && chmod 600 .env   # then fill in the credentials")
    click.echo("  edit schedule.yaml                        # zone, slots, accounts (every key is commented)")
    click.echo("  publisher accounts check                  # are the credentials good?")
    click.echo("  publisher preview seeds/                  # put an article there first")
    click.echo("  publisher schedule                        # the coming slots")
    click.echo("  publisher run                             # or install publisher.service (see its first lines)")
