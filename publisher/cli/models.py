"""`publisher models`: list, install (from the argos index or a file) and remove translation models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.console import err
from publisher.cli._common import json_option

#: Exit code of `models install --if-missing` when the index cannot be reached: the message says
#: how to install from a file, and the caller may go on without translation.
EXIT_INDEX_UNREACHABLE_IF_MISSING = 0


@click.group()
def models() -> None:
    """Manage the offline translation models (argos packages).

    Models live in PUBLISHER_MODELS_DIR, else ARGOS_PACKAGES_DIR, else $PUBLISHER_HOME/models.
    """


@models.command("list")
@click.option("--available", is_flag=True, help="List the packages of the argos index instead (needs internet).")
@json_option
def list_models(available: bool, as_json: bool) -> None:
    """List installed models (folders that are not packages are reported and ignored)."""
    from publisher.translate import packages

    if available:
        entries = packages.fetch_index()
        if as_json:
            click.echo(json.dumps([{"code": e.code, "from": e.from_code, "to": e.to_code, "version": e.version,
                                    "links": list(e.links)} for e in entries], indent=2))
            return
        for e in entries:
            click.echo(f"{e.code}\t{e.from_name} → {e.to_name}\t{e.version}")
        return
    directory = packages.models_dir()
    installed, broken = packages.scan(directory)
    for folder in broken:
        click.echo(f"warning: {folder.path}: {folder.problem}; ignored", err=True)
    if as_json:
        click.echo(json.dumps({"directory": str(directory), "models": [
            {"code": p.code, "from": p.from_code, "to": p.to_code, "version": p.version, "path": str(p.path),
             "size": p.size} for p in installed]}, indent=2))
        return
    if not installed:
        click.echo(f"no models installed in {directory}; run `publisher models install`")
        return
    click.echo(f"models in {directory}:")
    rows = [(p.code, f"{p.from_name} → {p.to_name}", p.version, _human(p.size), p.path.name) for p in installed]
    rows.insert(0, ("code", "languages", "version", "size", "folder"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])


@models.command("install")
@click.argument("target", required=False, default="zh_en")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when the model is installed; when the index cannot be reached, say how to "
                   "install from a file and exit 0 so that a preview can go on untranslated.")
def install(target: str, if_missing: bool) -> None:
    """Install a model from the argos index, or from a downloaded .argosmodel file.

    TARGET is a language pair (zh_en, the default; zt_en for Traditional Chinese), a package
    name (translate-zh_en), or the path of an .argosmodel file (fully offline). Downloads show
    a progress bar, are checked (size, and checksum when the index gives one) and are never
    left half-installed.

    Exit codes: 0 installed or already there; 1 failed. With --if-missing, an unreachable
    index also exits 0 after its message.
    """
    from publisher.translate import packages

    path = Path(target).expanduser()
    if path.suffix == ".argosmodel" or path.is_file() or "/" in target:
        package = packages.install_file(path)
        click.echo(f"installed {package.code} {package.version} ({package.from_name} → {package.to_name}) "
                   f"in {package.path}")
        return
    from_code, to_code = _pair(target)
    existing = packages.find_installed(from_code, to_code)
    if existing is not None and if_missing:
        click.echo(f"{existing.code} {existing.version} is already installed in {existing.path.parent}", err=True)
        return
    try:
        package = packages.install_from_index(from_code, to_code, progress=_progress_bar(f"{from_code}→{to_code}"))
    except packages.IndexUnreachable as exc:
        message = f"{exc}; {packages.offline_instructions(from_code, to_code)}"
        if if_missing:
            click.echo(f"warning: {message} (articles are not translated until a model is installed)", err=True)
            raise click.exceptions.Exit(EXIT_INDEX_UNREACHABLE_IF_MISSING)
        raise packages.IndexUnreachable(message) from None
    finally:
        _close_progress()
    click.echo(f"installed {package.code} {package.version} ({package.from_name} → {package.to_name}) "
               f"in {package.path}")


@models.command("remove")
@click.argument("code")
def remove(code: str) -> None:
    """Remove an installed model: CODE is its name (translate-zh_en), pair (zh_en) or folder."""
    from publisher.translate import packages

    for package in packages.remove(code):
        click.echo(f"removed {package.code} {package.version} ({package.path})")


def _pair(target: str) -> tuple[str, str]:
    text = target.strip().lower().replace("→", "->")
    if text.startswith("translate-"):
        text = text[len("translate-"):]
    for sep in ("->", "_", "-", ":"):
        if sep in text:
            a, _, b = text.partition(sep)
            if a and b and a.isalpha() and b.isalpha():
                return a, b
    raise click.BadParameter(f"{target!r} is neither a language pair (zh_en) nor an .argosmodel file",
                             param_hint="TARGET")


_PROGRESS: list = []


def _progress_bar(label: str):
    """A rich progress bar on stderr, fed by packages.download's callback (none when stderr is
    not a terminal: a log gets the result line only)."""
    if not err().is_terminal:
        return None
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    progress = Progress(TextColumn(f"downloading {label}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                        TimeRemainingColumn(), console=err(), transient=False)
    task = progress.add_task("download", total=None)
    started = False

    def update(done: int, total: int | None) -> None:
        nonlocal started
        if not started:
            progress.start()
            _PROGRESS.append(progress)
            started = True
        progress.update(task, completed=done, total=total)

    return update


def _close_progress() -> None:
    while _PROGRESS:
        _PROGRESS.pop().stop()


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
