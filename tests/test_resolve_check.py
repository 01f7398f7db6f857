"""`publisher resolve N --check` on X and Mastodon (#11 "Resolve"): the real CLI in a subprocess,
the real tweepy / Mastodon.py clients, the HTTP fakes' timeline endpoints.

* the answer was lost after the post was made -> needs_attention -> --check finds it on the
  account's own timeline and records it -> the next publish sends the rest under it, once;
* the request never made a post -> --check first says it is too soon to tell, then (the
  attempt a few minutes old) settles it as not posted -> the next publish posts it once;
* the look-up cannot reach back to the attempt -> "cannot tell", nothing changed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from factories import store
from fake_mastodon import Fault as MastodonFault
from fake_mastodon import FakeMastodon
from fake_x import CLI_BOOTSTRAP, FakeX
from fake_x import Fault as XFault
from fake_x import x_env
from publisher.clock import ts
from publisher.queue.outbox import Outbox

TESTS = Path(__file__).parent

TEXTS = [
    "AI & robots: the <big> news of the week, see https://example.com/news/ai?id=7 for more.",
    "Second point of the thread, with a link to example.org/report and numbers 1,200.",
    "Third point: what comes next.",
    "Source: https://example.com/original (translated)",
]


class XSide:
    name = "x"

    def __init__(self, tmp_path: Path):
        self.fake = FakeX().start()
        self.env = subprocess_env(FAKE_X_URL=self.fake.base_url, FAKE_X_TESTS=str(TESTS), **x_env(self.fake))
        self.tmp_path = tmp_path

    def cli(self, *args: str):
        import subprocess

        return subprocess.run([sys.executable, "-c", CLI_BOOTSTRAP, *args], env=self.env, capture_output=True,
                              text=True, timeout=120, cwd=str(self.tmp_path))

    def lose_answer(self, index: int) -> None:  # the post is made, the connection closes unanswered
        self.fake.fail_next(XFault("timeout", processed=True, hold=0.5), after=index)

    def never_arrives(self, index: int) -> None:  # the connection closes unanswered, nothing made
        self.fake.fail_next(XFault("timeout", processed=False, hold=0.5), after=index)

    def posts(self) -> list[tuple[str, str, str | None]]:
        return [(t.id, t.text, t.in_reply_to) for t in self.fake.tweets]

    def by_hand(self, text: str) -> None:
        self.fake.add_tweet(text)

    def page(self, size: int | None) -> None:
        self.fake.timeline_page = size

    def stop(self) -> None:
        self.fake.stop()


class MastodonSide:
    name = "mastodon"

    def __init__(self, tmp_path: Path):
        self.fake = FakeMastodon().start()
        self.env = subprocess_env(MASTODON_API_BASE_URL=self.fake.base_url, MASTODON_ACCESS_TOKEN=self.fake.token)
        self.tmp_path = tmp_path

    def cli(self, *args: str):
        return run_cli(*args, env=self.env, cwd=str(self.tmp_path))

    def lose_answer(self, index: int) -> None:
        self.fake.faults.append(MastodonFault("POST", "/api/v1/statuses", after_commit="drop", skip=index))

    def never_arrives(self, index: int) -> None:  # a gateway gave up before the instance saw it
        self.fake.faults.append(MastodonFault("POST", "/api/v1/statuses", status=504,
                                              body={"error": "Gateway Timeout"}, skip=index))

    def posts(self) -> list[tuple[str, str, str | None]]:
        from publisher.platforms.mastodon import _plain

        return [(s["id"], _plain(s["content"]), s["in_reply_to_id"])
                for s in sorted(self.fake.statuses.values(), key=lambda s: int(s["id"]))]

    def by_hand(self, text: str) -> None:
        self.fake.add_status(text)

    def page(self, size: int | None) -> None:
        self.fake.timeline_page = size

    def stop(self) -> None:
        self.fake.stop()


@pytest.fixture(params=["x", "mastodon"])
def side(request, tmp_path):
    made = (XSide if request.param == "x" else MastodonSide)(tmp_path)
    yield made
    made.stop()


def _needs_attention(side, tmp_path: Path, fail, index: int) -> int:
    """A 4-post thread whose post ``index`` ends with an unknown outcome, through `publisher publish`."""
    with Outbox.open() as outbox:
        pub = store(outbox, tmp_path / "in", "article.md", texts=TEXTS, platforms=(side.name,)).publications[0]
        outbox.approve(pub)
    fail(index)
    result = side.cli("publish", str(pub))
    assert result.returncode == 1, result.stdout + result.stderr
    with Outbox.open() as outbox:
        after = outbox.get(pub)
        assert after.state == "needs_attention" and after.unknown_index == index, after.note
    return pub


def _age_attempt(pub: int, minutes: float) -> None:
    """The attempt happened ``minutes`` ago (as if the person looked later)."""
    with Outbox.open() as outbox:
        since = outbox.get(pub).inflight_since
        path = outbox.path
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE publications SET inflight_since = ? WHERE id = ?",
                   (ts(since - dt.timedelta(minutes=minutes)), pub))
    db.close()


def _texts_posted(side) -> list[str]:
    return [text for _, text, _ in side.posts()]


@pytest.mark.parametrize("index", [0, 1])
def test_a_post_whose_answer_was_lost_is_found_and_the_rest_replies_under_it(side, tmp_path, index):
    pub = _needs_attention(side, tmp_path, side.lose_answer, index)
    landed = side.posts()[index]  # it did go out
    assert len(side.posts()) == index + 1

    check = side.cli("resolve", str(pub), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{side.name} has post {index + 1} of 4" in check.stdout and landed[0] in check.stdout
    with Outbox.open() as outbox:
        after = outbox.get(pub)
        assert after.state == "approved" and after.posted_count == index + 1
        assert outbox.posted_refs(pub)[index].id == landed[0]

    done = side.cli("publish", str(pub))
    assert done.returncode == 0, done.stdout + done.stderr
    posts = side.posts()
    assert len(posts) == 4  # nothing twice
    assert posts[index + 1][2] == landed[0]  # the next post replies to the one found
    for (_, _, reply_to), (parent, _, _) in zip(posts[1:], posts):
        assert reply_to == parent  # one unbroken chain
    with Outbox.open() as outbox:
        assert outbox.get(pub).state == "posted"


@pytest.mark.parametrize("index", [0, 1])
def test_a_post_that_never_arrived_is_settled_not_posted_and_sent_once(side, tmp_path, index):
    pub = _needs_attention(side, tmp_path, side.never_arrives, index)
    assert len(side.posts()) == index

    too_soon = side.cli("resolve", str(pub), "--check")
    assert too_soon.returncode == 1
    assert "cannot tell" in too_soon.stderr and "may still land" in too_soon.stderr
    assert "nothing changed" in too_soon.stderr
    assert len(too_soon.stderr.strip().splitlines()) == 1
    with Outbox.open() as outbox:
        assert outbox.get(pub).state == "needs_attention"

    _age_attempt(pub, 4)
    check = side.cli("resolve", str(pub), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{side.name} does not have post {index + 1} of 4" in check.stdout
    with Outbox.open() as outbox:
        assert outbox.get(pub).state == "approved" and outbox.get(pub).posted_count == index

    done = side.cli("publish", str(pub))
    assert done.returncode == 0, done.stdout + done.stderr
    posts = side.posts()
    assert len(posts) == 4 and len({text for _, text, _ in posts}) == 4  # each post once
    for (_, _, reply_to), (parent, _, _) in zip(posts[1:], posts):
        assert reply_to == parent


def test_a_look_up_that_cannot_reach_the_attempt_changes_nothing(side, tmp_path):
    pub = _needs_attention(side, tmp_path, side.lose_answer, 0)
    for n in range(12):  # the account posted a lot since (by hand, or another tool)
        side.by_hand(f"Something else entirely, number {n}.")
    _age_attempt(pub, 4)
    side.page(2)  # 5 pages of 2 reach back 10 posts: not to the attempt

    truncated = side.cli("resolve", str(pub), "--check")
    assert truncated.returncode == 1
    assert "cannot tell whether post 1 of 4" in truncated.stderr and "the look-up stopped" in truncated.stderr
    assert "nothing changed" in truncated.stderr and len(truncated.stderr.strip().splitlines()) == 1
    with Outbox.open() as outbox:
        after = outbox.get(pub)
        assert after.state == "needs_attention" and after.posted_count == 0 and after.unknown_index == 0

    side.page(3)  # 5 pages of 3 reach it: found on the last page
    found = side.cli("resolve", str(pub), "--check")
    assert found.returncode == 0, found.stdout + found.stderr
    assert f"{side.name} has post 1 of 4" in found.stdout


def test_a_reply_with_other_text_is_left_to_a_person(side, tmp_path):
    """A reply to post 1 written by hand is not taken for post 2, nor is post 2 called absent."""
    pub = _needs_attention(side, tmp_path, side.never_arrives, 1)
    first = side.posts()[0][0]
    if side.name == "x":
        side.fake.add_tweet("Thanks everyone for reading!", in_reply_to=first)
    else:
        side.fake.add_status("Thanks everyone for reading!", in_reply_to_id=first)
    _age_attempt(pub, 4)
    check = side.cli("resolve", str(pub), "--check")
    assert check.returncode == 1
    assert f"reply to {first} with other text" in check.stderr and "nothing changed" in check.stderr
    with Outbox.open() as outbox:
        assert outbox.get(pub).state == "needs_attention"


# --- the rule itself (publisher.platforms.find), without a network ---------------------------

def _seen(id_: str, text: str, reply_to: str | None, minutes_after: float, since: dt.datetime):
    from publisher.platforms.find import Seen

    return Seen(id=id_, text=text, reply_to=reply_to, created_at=since + dt.timedelta(minutes=minutes_after))


SINCE = dt.datetime(2026, 6, 14, 8, 0, tzinfo=dt.timezone.utc)
LATER = SINCE + dt.timedelta(hours=1)


def test_texts_match_as_read_links_entities_spaces_and_an_image_link():
    from publisher.platforms.find import same_text

    ours = "AI & robots: see https://example.com/a?b=1\nand example.org/x."
    assert same_text(ours, "AI &amp; robots: see https://t.co/abc123 and https://t.co/def456.", unescape=True)
    assert same_text(ours, "AI &amp; robots: see https://t.co/abc123 and https://t.co/def456. https://t.co/img",
                     unescape=True)  # X's link to the attached image
    assert not same_text(ours, "AI &amp; robots: see https://t.co/abc123.", unescape=True)  # a link missing
    assert not same_text(ours, "AI & robots: see https://t.co/abc123 and https://t.co/def456!")
    assert same_text("Post one.", "Post one. https://t.co/img")  # a post with images, no link of its own
    assert not same_text("Post one.", "Post one, two. https://t.co/img")
    assert same_text("Post one. https://example.com", "Post one.   https://t.co/xyz")


def test_the_decision_reply_text_window_and_completeness():
    from publisher.platforms.base import CannotTell, PostRef
    from publisher.platforms.find import decide

    parent = PostRef(id="100")
    text = "Second post."
    mine = _seen("101", text, "100", 1, SINCE)
    other_thread = _seen("201", text, "200", 1, SINCE)  # same text, under another post
    assert decide([other_thread, mine], text=text, reply_to=parent, since=SINCE, complete=True, platform="x",
                  now=LATER).id == "101"
    assert decide([other_thread], text=text, reply_to=parent, since=SINCE, complete=True, platform="x",
                  now=LATER) is None
    by_hand = _seen("102", "Thanks for reading!", "100", 2, SINCE)
    assert isinstance(decide([by_hand], text=text, reply_to=parent, since=SINCE, complete=True, platform="x",
                             now=LATER), CannotTell)
    twice = [mine, _seen("103", text, "100", 2, SINCE)]
    assert "2 posts with this text" in decide(twice, text=text, reply_to=parent, since=SINCE, complete=True,
                                              platform="x", now=LATER).reason
    # the first post: no reply, same text; the platform's clock may be a few minutes behind ours
    first = "First post."
    skewed = _seen("104", first, None, -5, SINCE)
    assert decide([skewed], text=first, reply_to=None, since=SINCE, complete=True, platform="x", now=LATER).id == "104"
    old = _seen("105", first, None, -30, SINCE)  # long before the attempt: not this attempt's post
    assert decide([old], text=first, reply_to=None, since=SINCE, complete=True, platform="x", now=LATER) is None
    assert isinstance(decide([], text=first, reply_to=None, since=SINCE, complete=False, platform="x", now=LATER),
                      CannotTell)
    soon = decide([], text=first, reply_to=None, since=SINCE, complete=True, platform="x",
                  now=SINCE + dt.timedelta(minutes=1))
    assert isinstance(soon, CannotTell) and "check again in 121 s" in soon.reason


def test_the_dry_run_platform_finds_what_it_recorded():
    from publisher.platforms.base import Platform
    from publisher.platforms.dryrun import DryRunPlatform

    dry = DryRunPlatform()
    assert isinstance(dry, Platform)
    ref = dry.post("One.", reply_to=None, root=None, idempotency_key="k-0")
    assert dry.find_post("One.", reply_to=None, since=SINCE, idempotency_key="k-0") == ref
    assert dry.find_post("Two.", reply_to=ref, since=SINCE, idempotency_key="k-1") is None


def test_a_read_refused_or_rate_limited_is_cannot_tell(tmp_path):
    from fake_x import TIMELINE
    from publisher.platforms.base import CannotTell
    from publisher.platforms.mastodon import MastodonPlatform
    from publisher.platforms.x import XPlatform

    with FakeMastodon(scopes=("write", "read:accounts")) as fake:  # no read:statuses
        answer = MastodonPlatform(fake.base_url, fake.token).find_post("One.", reply_to=None, since=SINCE,
                                                                       idempotency_key="k")
        assert isinstance(answer, CannotTell) and "read:statuses" in answer.reason
    with FakeX() as fake:
        x = XPlatform(*x_env(fake).values())
        fake.route(x.client.session)
        fake.fail_next(XFault("rate_limit"), endpoint=TIMELINE)
        answer = x.find_post("One.", reply_to=None, since=SINCE, idempotency_key="k")
        assert isinstance(answer, CannotTell) and "rate limit" in answer.reason
        assert x.find_post("One.", reply_to=None, since=LATER - dt.timedelta(hours=2), idempotency_key="k") is None


def test_a_post_found_that_belongs_to_another_thread_is_refused(tmp_path):
    """The same text already posted by another publication (moments before) is not taken for
    this one's: the foreign-id check of `--posted` applies to what --check finds."""
    side = MastodonSide(tmp_path)
    try:
        with Outbox.open() as outbox:
            done = store(outbox, tmp_path / "in", "first.md", texts=TEXTS, platforms=("mastodon",)).publications[0]
            outbox.approve(done)
        assert side.cli("publish", str(done)).returncode == 0
        pub = _needs_attention(side, tmp_path, side.never_arrives, 0)  # same texts, stored as another article
        _age_attempt(pub, 4)
        check = side.cli("resolve", str(pub), "--check")
        assert check.returncode == 1
        assert f"is already recorded as post 1 of publication {done}" in check.stderr
        with Outbox.open() as outbox:
            assert outbox.get(pub).state == "needs_attention"
    finally:
        side.stop()
