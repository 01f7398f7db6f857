"""`publisher status` (is the daemon alive; does anything need a person) and `publisher notify test`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from publisher.console import out
from publisher.cli._common import json_option


def _load(schedule_path: Path | None):
    from publisher.config import schedule_path as find
    from publisher.schedule.config import load_schedule_if_present

    path = find(schedule_path)
    schedule = load_schedule_if_present(schedule_path) if (schedule_path or path.is_file()) else None
    return schedule, path


@click.command("status")
@click.option("--schedule", "schedule_path", type=click.Path(path_type=Path), default=None,
              help="The schedule file (default: the workspace's schedule.yaml).")
@click.option("--now", "now_text", metavar="TIME", default=None, hidden=True)
@json_option
def status(schedule_path: Path | None, now_text: str | None, as_json: bool) -> None:
    """Is `publisher run` alive, and does anything need a person?

    Shows the daemon's heartbeat (pid, host, version, schedule file, last scan), each account's
    next slot, quota and budget left, when its credentials were checked, and everything that
    waits for a person: posts whose outcome is unknown or that failed for good, drafts held
    back from an auto-approving source, stuck claims, stopped accounts, missing credentials,
    threads the quota blocks for a day. Exit status 0 when nothing needs a person, 1 otherwise
    (use it as a monitoring check). Reads only the database: no platform is contacted.
    """
    from publisher.queue.outbox import Outbox
    from publisher.schedule.slots import UTC, parse_instant
    from publisher.cockpit.status import collect

    schedule, path = _load(schedule_path)
    now = parse_instant(now_text, schedule.zone if schedule else UTC) if now_text else dt.datetime.now(UTC)
    with Outbox.open() as outbox:
        st = collect(schedule, outbox, now, schedule_file=str(path) if schedule else None)
    if as_json:
        click.echo(json.dumps(st.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        _show(st)
    if st.problems:
        raise click.exceptions.Exit(1)


def _show(st) -> None:
    from rich.markup import escape

    from rich.padding import Padding
    from rich.text import Text

    console = out()

    def p(markup: str, indent: int = 0, hang: int = 0) -> None:
        """One item, wrapped at words to the terminal, continuation lines indented by ``hang``."""
        text = Text.from_markup(markup)
        if hang:
            lines = text.wrap(console, max(20, console.width - indent - hang))
            for line in lines:
                line.rstrip()
            first, *rest = lines or [Text("")]
            console.print(Padding(first, (0, 0, 0, indent), expand=False))
            for line in rest:
                console.print(Padding(line, (0, 0, 0, indent + hang), expand=False))
        else:
            console.print(Padding(text, (0, 0, 0, indent), expand=False))

    hb = st.heartbeat
    if st.daemon_alive and hb is not None:
        what = "publisher run --once" if hb.mode == "once" else "publisher run"
        p(f"[bold green]daemon[/bold green]  {what}: {st.daemon_note}, pid {hb.pid} on {escape(hb.host)}, "
          f"version {hb.version}, since {st.show(hb.started_at)}", hang=8)
    elif hb is not None:
        p(f"[bold red]daemon[/bold red]  not running ({escape(st.daemon_note)}); last heartbeat "
          f"{st.show(hb.beat_at)} from pid {hb.pid} on {escape(hb.host)}", hang=8)
    else:
        p("[bold red]daemon[/bold red]  `publisher run` has never run on this database", hang=8)
    if hb is not None:
        p(f"schedule {escape(hb.schedule)}; last scan {st.show(hb.scan_at)}, last beat {st.show(hb.beat_at)}",
          indent=8, hang=2)
    p(f"database {escape(st.database)}", hang=9)
    if st.schedule:
        p(f"schedule {escape(st.schedule)}", hang=9)
    if st.accounts:
        p("[bold]Accounts[/bold]")
    for a in st.accounts:
        who = f"{a.platform}/{a.account}"
        if a.stopped:
            state = f"[red]STOPPED[/red]: {escape(a.stopped)}"
        elif a.missing_env:
            state = f"[red]missing {escape(', '.join(a.missing_env))}[/red]"
        elif a.paused_until:
            state = f"[yellow]paused until {st.show(a.paused_until)}[/yellow]"
        elif not a.posting:
            state = "[dim]no slots: posts only by hand[/dim]"
        else:
            state = "[green]ok[/green]"
        p(f"{escape(who)}: {state}", indent=2, hang=4)
        quota = "no daily quota" if a.quota is None else f"{a.remaining} of {a.quota} posts left (24 h)"
        budget = "" if a.budget is None else f", ${a.spent:.3f} of ${a.budget:.2f} budget spent (24 h)"
        checked = (f"credentials checked {st.show(a.checked_at)}" + (f" ({escape(a.handle)})" if a.handle else "")
                   if a.checked_at else "credentials never checked (`publisher accounts check`)")
        p(f"{quota}{budget}; {checked}", indent=4, hang=2)
        if a.next_slot:
            p(f"next slot {st.show(a.next_slot)}: {escape(a.next_post or '')}", indent=4, hang=2)
    counts = " · ".join(f"{n} {s}" for s, n in st.counts.items())
    p(f"queue   {counts or 'empty'}", hang=8)
    if st.problems:
        p(f"[bold red]Needs a person ({len(st.problems)})[/bold red]")
        for prob in st.problems:
            p(f"[red]•[/red] {escape(prob.message)}", indent=2, hang=2)
    else:
        p("[bold green]Nothing needs a person.[/bold green]")
    p(f"Times in {escape(st.zone_name)}.")


@click.group("notify")
def notify() -> None:
    """Alerts (schedule.yaml `notify:`): send a test message to every target."""


@notify.command("test")
@click.option("--schedule", "schedule_path", type=click.Path(path_type=Path), default=None,
              help="The schedule file (default: the workspace's schedule.yaml).")
def notify_test(schedule_path: Path | None) -> None:
    """Send a test alert to every target of schedule.yaml's `notify:`; exit 1 if any fails."""
    import socket

    from publisher.errors import ConfigError
    from publisher.cockpit.notify import TITLES, Notifier

    schedule, path = _load(schedule_path)
    if schedule is None or schedule.notify is None:
        raise ConfigError(f"{path}: no `notify:` section; add `notify: {{targets: [PUBLISHER_ALERT_URL]}}` and put "
                          "an apprise URL in that variable (environment or .env)")
    notifier = Notifier(schedule.notify)
    urls, missing = notifier.urls()
    for name in missing:
        click.echo(f"{name}: not set (environment or .env)")
    if not urls:
        raise click.exceptions.Exit(1)
    body = f"A test alert from publisher on {socket.gethostname()} ({path}). Alerts will arrive like this one."
    failed = 0
    for name in schedule.notify.targets:
        if name in missing:
            continue
        one = Notifier(schedule.notify.model_copy(update={"targets": (name,)}))
        delivered, _ = one.send(TITLES["test"], body)
        click.echo(f"{name}: {'sent' if delivered else 'FAILED'}")
        failed += not delivered
    if failed or missing:
        raise click.exceptions.Exit(1)
