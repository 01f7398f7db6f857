"""A publishing worker for the media crash tests (like crash_worker.py, for threads with images).

Routes api.twitter.com to the fake X ($FAKE_X_URL), then claims and publishes due X threads.
With MEDIA_CRASH_AFTER_UPLOAD=1 it SIGKILLs itself the first time a post whose images are
uploaded (and their ids committed) is about to be marked in flight: exactly "between the upload
and the post".
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_x  # noqa: E402

fake_x.route_all_to(os.environ["FAKE_X_URL"])

from publisher.clock import utcnow  # noqa: E402
from publisher.queue.media import uploads_of  # noqa: E402
from publisher.platforms.x import XPlatform  # noqa: E402
from publisher.publishing.publish import publish_publication  # noqa: E402
from publisher.queue.outbox import Outbox  # noqa: E402


def main() -> None:
    outbox = Outbox.open()
    platform = XPlatform.from_env()
    platform.client  # import tweepy and build the session now
    if os.environ.get("MEDIA_CRASH_AFTER_UPLOAD") == "1":
        begin = Outbox.begin_post

        def begin_post(self, publication_id, index, **kwargs):
            if uploads_of(self.db, publication_id) and any(
                    u["post"] == index + 1 for u in uploads_of(self.db, publication_id)):
                print("killing myself between upload and post", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            return begin(self, publication_id, index, **kwargs)

        Outbox.begin_post = begin_post
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
