"""`publisher run` (the posting daemon, or one pass with --once) and `publisher schedule`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from publisher.console import out
from publisher.cli._common import json_option


def schedule_option(f):
    return click.option(
        "--schedule", "schedule_path", type=click.Path(path_type=Path), default=None,
        help="The schedule file (default: $PUBLISHER_SCHEDULE, else ./schedule.yaml).")(f)


def now_option(f):
    return click.option(
        "--now", "now_text", metavar="TIME", default=None,
        help="Act as if the clock read TIME (ISO 8601; without an offset it is local time in the "
             "schedule's zone).")(f)


def run_now_option(f):
    return click.option(
        "--now", "now_text", metavar="TIME", default=None,
        help="Act as if the clock read TIME (ISO 8601; without an offset it is local time in the "
             "schedule's zone). It posts for real and records TIME, so it may not be later than the "
             "clock nor earlier than the latest post or slot the database recorded; rehearse on a "
             "scratch database (PUBLISHER_DB).")(f)


def _schedule_path(given: Path | None) -> Path:
    from publisher.config import schedule_path

    return schedule_path(given)


@click.command()
@schedule_option
@click.option("--once", is_flag=True, help="Do what is due now (scan sources, post in a due slot) and exit.")
@run_now_option
@click.option("-v", "--verbose", is_flag=True, help="Also log files found unchanged and other details.")
def run(schedule_path: Path | None, once: bool, now_text: str | None, verbose: bool) -> None:
    """Post approved threads in the slots of schedule.yaml, and ingest new articles.

    Runs until SIGTERM or Ctrl-C (the post in flight is finished first). Watches the sources for
    new or changed articles, posts in each slot the next approved thread that fits the
    account's daily quota, and reloads schedule.yaml when it changes. One line per action goes
    to stderr. With --once it does what is due and exits (for cron). Only one run may use a
    database at a time.
    """
    import logging

    from publisher.daemon.runtime import serve_forever, setup_logging
    from publisher.daemon.wiring import build_daemon
    from publisher.schedule.config import load_schedule
    from publisher.schedule.slots import parse_instant

    setup_logging(logging.DEBUG if verbose else logging.INFO)
    path = _schedule_path(schedule_path)
    schedule = load_schedule(path)  # fail early, with file:line, before taking the lock
    from publisher.clock import set_display

    set_display(schedule.zone, schedule.timezone)  # log lines and notes in the schedule's zone
    start = parse_instant(now_text, schedule.zone) if now_text else None
    with build_daemon(path, now=start, mode="once" if once else "daemon") as daemon:
        if once:
            daemon.run_once()
        else:
            serve_forever(daemon)
    if daemon.fatal:
        from publisher.queue.db import DatabaseGone

        raise DatabaseGone(daemon.fatal)


@click.command(name="schedule")
@schedule_option
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366),
              help="How many days of coming slots to show.")
@now_option
@json_option
def schedule_cmd(schedule_path: Path | None, days: int, now_text: str | None, as_json: bool) -> None:
    """Show the coming slots in local time, the thread each would post, and quota per account.

    A forecast from the queue as it is now: each slot takes the next approved thread that fits
    the account's quota left in the rolling 24 hours, skipping quiet hours and min_gap. Problems
    come first: a source folder that does not exist, a platform with no slots (its approved
    threads would wait forever), a platform with no enabled account.
    """
    from publisher.daemon.wiring import open_store
    from publisher.schedule.config import load_schedule
    from publisher.schedule.rules import forecast, quota_status, schedule_problems
    from publisher.schedule.slots import UTC, parse_instant

    path = _schedule_path(schedule_path)
    schedule = load_schedule(path)
    now = parse_instant(now_text, schedule.zone) if now_text else dt.datetime.now(UTC)
    until = now + dt.timedelta(days=days)
    from publisher.schedule.cost import thread_cost
    from publisher.schedule.expect import expect

    with open_store() as store:
        quotas = quota_status(schedule, store, now)
        planned = forecast(schedule, store, now, until)
        problems = schedule_problems(schedule, store, now)
        outbox = store.outbox  # type: ignore[attr-defined]
        from publisher.cockpit.status import daemon_line, read_heartbeat

        heartbeat = read_heartbeat(outbox.db)
        daemon = daemon_line(heartbeat, dt.datetime.now(UTC), schedule.zone)
        costs = {p.item.publication_id: thread_cost(outbox, p.item.publication_id, schedule)
                 for p in planned if p.item is not None}
        # Threads approved for a set time (`approve --at`): they go out then, outside the slots.
        timed = []
        for row in outbox.rows(["scheduled"]):
            if row.when is not None and row.when <= until:
                got = expect(schedule, outbox, row.id, now)
                timed.append((row, got, thread_cost(outbox, row.id, schedule)))
    if as_json:
        click.echo(json.dumps({
            "schedule": str(path),
            "timezone": schedule.timezone,
            "now": now.astimezone(schedule.zone).isoformat(),
            "accounts": [{"platform": q.platform, "account": q.account, "quota": q.quota, "used": q.used,
                          "remaining": q.remaining, "missing_env": list(q.missing_env)} for q in quotas],
            "slots": [{"platform": p.slot.platform, "at": p.slot.local.isoformat(),
                       "wall": p.slot.wall.isoformat(), "note": p.slot.note, "outcome": p.outcome,
                       "publication_id": p.item.publication_id if p.item else None,
                       "thread_id": p.item.thread_id if p.item else None,
                       "article_id": p.item.article_id if p.item else None,
                       "posts": p.item.posts if p.item else None,
                       "title": p.item.title if p.item else None,
                       "detail": p.detail,
                       "cost_usd": costs[p.item.publication_id].dollars if p.item else None} for p in planned],
            "timed": [{"publication_id": row.id, "platform": row.platform, "at": max(row.when, now).astimezone(
                           schedule.zone).isoformat(), "title": row.title, "posts": row.n_posts - row.posted_count,
                       "cost_usd": cost.dollars, "will_post": got.at is not None, "detail": got.text}
                      for row, got, cost in timed],
            "problems": problems,
            "daemon": daemon,
        }, ensure_ascii=False, indent=2, default=str))
        return
    _show(schedule, path, now, quotas, planned, days, problems, costs, timed, daemon)


def _show(schedule, path: Path, now: dt.datetime, quotas, planned, days: int, problems: list[str],
          costs: dict | None = None, timed: list | None = None, daemon: str | None = None) -> None:
    """Plain lines (one per account, one per slot): readable in a terminal, a log or a mail."""
    from rich.markup import escape

    console = out()
    local_now = now.astimezone(schedule.zone)
    console.print(f"[bold]{escape(str(path))}[/bold]: zone {schedule.timezone}, now {local_now:%Y-%m-%d %H:%M %Z}, "
                  f"misfire {schedule.misfire}"
                  + (f", quiet hours {schedule.quiet_hours}" if schedule.quiet_hours else ""), soft_wrap=True)
    if daemon:
        console.print(f"daemon: {escape(daemon)}", soft_wrap=True)
    if problems:
        console.print("[bold yellow]Problems[/bold yellow]")
        for line in problems:
            console.print(f"  [yellow]{escape(line)}[/yellow]", soft_wrap=True)
    console.print("[bold]Quota (rolling 24 hours)[/bold]")
    for q in quotas:
        left = "no daily quota" if q.quota is None else f"{q.remaining} left of {q.quota}"
        creds = f"  [red]missing {escape(', '.join(q.missing_env))}[/red]" if q.missing_env else ""
        console.print(f"  {q.platform}/{escape(q.account)}: {q.used} used, {left}{creds}", soft_wrap=True)
    if not quotas:
        console.print("  no platform with an enabled account")
    console.print(f"[bold]Coming slots (next {days} days)[/bold]")
    costs = costs or {}
    lines: list[tuple[dt.datetime, str]] = []
    for p in planned:
        when = f"{p.slot.local:%a %Y-%m-%d %H:%M %Z}" + (" *" if p.slot.note else "")
        if p.item is not None:
            cost = costs.get(p.item.publication_id)
            price = f", est. ${cost.dollars:.3f}" if cost is not None and p.slot.platform == "x" else ""
            what = (f"publication {p.item.publication_id} (article {p.item.article_id}, thread {p.item.thread_id}), "
                    f"{p.item.posts} posts{price}: {escape(p.item.title)}")
        else:
            what = f"[dim]— {p.outcome}: {escape(p.detail)}[/dim]"
        lines.append((p.slot.at, f"  {when}  {p.slot.platform:<8} {what}"))
    for row, got, cost in timed or []:
        at = max(row.when, now)
        when = f"{at.astimezone(schedule.zone):%a %Y-%m-%d %H:%M %Z}"
        price = f", est. ${cost.dollars:.3f}" if row.platform == "x" else ""
        what = (f"publication {row.id} (article {row.article_id}), {row.n_posts - row.posted_count} posts{price}: "
                f"{escape(row.title)} [dim](set time, `approve --at`"
                + ("" if got.at is not None else f"; {escape(got.text)}") + ")[/dim]")
        lines.append((at, f"  {when}  {row.platform:<8} {what}"))
    for _, line in sorted(lines, key=lambda x: x[0]):
        console.print(line, soft_wrap=True)
    if not lines:
        console.print("  no slots in this period")
    for note in sorted({p.slot.note for p in planned if p.slot.note}):
        console.print(f"  * {escape(note)}", soft_wrap=True)
