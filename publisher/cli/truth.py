"""What the queue commands say about the future: when an approved thread goes out (or why no
slot will take it), what it costs on X, and which revision an approval is bound to."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import Publication


def current_schedule():
    """The schedule the queue commands use (None without one); an invalid file is an error."""
    import os

    from publisher.config import schedule_path

    path = schedule_path()
    if not (path.is_file() or os.environ.get("PUBLISHER_SCHEDULE")):
        return None  # pydantic (publisher.schedule) is only imported when there is a schedule
    from publisher.schedule.config import load_schedule_if_present

    return load_schedule_if_present()


def cost_text(outbox: "Outbox", pub: "Publication", schedule) -> str:
    from publisher.schedule.expect import thread_cost

    if pub.platform != "x":
        return ""
    return f", est. {thread_cost(outbox, pub.id, schedule).text()}"


def approval_lines(outbox: "Outbox", pubs: Sequence["Publication"], *, verb: str = "Approved") -> list[str]:
    """One line per approved publication: posts, estimated cost, and when it is expected to go out."""
    from publisher.schedule.expect import expect

    schedule = current_schedule()
    now = dt.datetime.now(dt.timezone.utc)
    lines = []
    for pub in pubs:
        got = expect(schedule, outbox, pub.id, now)
        from publisher.publishing.corrections import describe

        head = f"{verb} {pub.id} ({pub.platform}, {pub.n_posts} posts{cost_text(outbox, pub, schedule)})"
        if got.at is not None:
            lines.append(f"{head}: expected to go out {got.text}.")
        else:
            lines.append(f"{head}: {got.text}.")
        correction = describe(outbox, pub.id)
        if correction:
            lines.append(f"  It is {correction}.")
    return lines


def bound_revision(outbox: "Outbox", article: str):
    """The article revision ``--article`` names: an id is that very revision (a newer one is
    refused, saying so: it was not seen); a path is the file's latest revision."""
    from publisher.errors import StoreError

    if article.strip().isdigit():
        record = outbox.article(int(article))
        latest = outbox.latest_revision(record.id)
        if latest.id != record.id:
            pubs = ", ".join(f"{p.id} ({p.platform})" for p in outbox.publications_of(latest.id)) or "none"
            raise StoreError(
                f"article {record.id} is revision {record.revision} of {record.path}; revision {latest.revision} "
                f"(article {latest.id}, publications {pubs}) replaced it and is not what you reviewed: look at it "
                f"(`publisher show ID`) and approve it with `publisher approve --article {latest.id}`")
        return record
    return outbox.latest_revision(article)


def account_label(platform: str, stored: str) -> str:
    """``x/newsroom``: the platform and the schedule's account name, as `publisher schedule` says it
    (the stored account key when there is no schedule, or it names no account)."""
    from publisher.errors import ConfigError

    try:
        schedule = current_schedule()
    except ConfigError:
        schedule = None
    found = schedule.account_for(platform) if schedule is not None else None
    name = found[0] if found else (stored if stored != platform else "")
    return f"{platform}/{name}" if name else platform
