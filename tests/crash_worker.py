"""A publishing worker for the crash test: what the scheduler will do, in a real process.

Routes api.twitter.com to the fake X ($FAKE_X_URL), opens the outbox ($PUBLISHER_DB or
$PUBLISHER_HOME), then claims and publishes due X threads until none is left. Prints
"ready" once everything slow (imports, client) is done, so the test can kill it mid-work.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_x  # noqa: E402

fake_x.route_all_to(os.environ["FAKE_X_URL"])

from publisher.clock import utcnow  # noqa: E402
from publisher.queue.outbox import Outbox  # noqa: E402
from publisher.platforms.x import XPlatform  # noqa: E402
from publisher.publishing.publish import publish_publication  # noqa: E402


def main() -> None:
    outbox = Outbox.open()
    platform = XPlatform.from_env()
    platform.client  # import tweepy and build the session now
    print("ready", flush=True)
    while True:
        pub = outbox.claim_next("x", utcnow())
        if pub is None:
            break
        result = publish_publication(outbox, pub.id, platform)
        print(f"{pub.id} {result.publication.state} {len(result.sent)}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
