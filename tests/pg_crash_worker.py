"""A publishing worker for the PostgreSQL crash test: one of several "hosts" on one database.

Like the daemon: takes the next free posting slot in the database's slot ledger (a slot is a row
``schedule_slots (x, slot N)``; ``INSERT … ON CONFLICT DO NOTHING`` makes it one worker's), then
claims the first due thread for it (``due`` then ``claim``: another worker may win the race, and
the claim then refuses) and publishes it to the fake X ($FAKE_X_URL). Stops when nothing is due.
The test runs it in its own UTS namespace where it can (another host name), so that the other
processes judge its claims by its lease, as they would a daemon on another machine.
"""

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_x  # noqa: E402

fake_x.route_all_to(os.environ["FAKE_X_URL"])

from publisher.daemon.daemon import SlotLedger  # noqa: E402
from publisher.errors import StoreError  # noqa: E402
from publisher.clock import utcnow  # noqa: E402
from publisher.queue.outbox import Outbox  # noqa: E402
from publisher.platforms.x import XPlatform  # noqa: E402
from publisher.publishing.publish import publish_publication  # noqa: E402

BASE = dt.datetime(2024, 6, 14, tzinfo=dt.timezone.utc)


def main() -> None:
    outbox = Outbox.open()
    ledger = SlotLedger(os.environ["PUBLISHER_DB"])
    platform = XPlatform.from_env()
    platform.client  # import tweepy and build the session now
    print("ready", flush=True)
    last = ledger.last("x")
    k = 0 if last is None else int((last - BASE).total_seconds() // 60) + 1
    while True:
        slot = BASE + dt.timedelta(minutes=k)
        k += 1
        if not ledger.begin("x", slot, utcnow()):
            continue  # another host took this slot
        due = outbox.due("x", utcnow(), limit=1)
        if not due:
            ledger.finish("x", slot, "empty")
            break
        try:
            pub = outbox.claim(due[0].id, why=f"slot {slot:%H:%M} by {os.environ.get('WORKER', '?')}")
        except StoreError as exc:
            ledger.finish("x", slot, "lost", detail=str(exc)[:80])
            continue
        ledger.finish("x", slot, "claimed", publication_id=pub.id)
        result = publish_publication(outbox, pub.id, platform)
        print(f"{pub.id} {result.publication.state} {len(result.sent)}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
