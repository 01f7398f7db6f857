"""Finding a post whose outcome was unknown on the account's own timeline (``resolve --check``).

X and Mastodon cannot be asked "did this request go through?" after the fact (Mastodon's
Idempotency-Key can only be tested by sending again, which is never done blindly). What they do
show is the account's own recent posts, newest first. The adapters read those back to the time
of the attempt and hand them here as :class:`Seen`; :func:`decide` settles it:

* a later post of the thread (``reply_to`` given): a post of the account, made since the
  attempt, that replies to ``reply_to`` and carries the same text is the one; a reply to it
  with OTHER text (perhaps written by hand) is not settled automatically: a person looks;
* the first post of a new thread: a post of the account since the attempt that replies to
  nothing and carries the same text;
* none of them, and the look-up reached back past the attempt (``complete``): it is not
  there — but only once :data:`SETTLE` has passed since the attempt, since a request still on
  its way (a timeout is the client giving up, not the server) may yet land;
* anything else: :class:`CannotTell`, and nothing is changed.

Texts are compared as a reader sees them: Unicode NFC, HTML entities decoded (X sends ``&amp;``),
runs of white space as one space, and every link as one placeholder — X replaces each link by a
``t.co`` link, and adds one for attached images at the end, so a trailing link X added is
ignored too. "Since the attempt" starts :data:`CLOCK_MARGIN` earlier than our clock says,
because the platform's clock is not ours.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from publisher.platforms.base import CannotTell, PostRef

CLOCK_MARGIN = dt.timedelta(minutes=10)
"""How far before the attempt (by our clock) the look-up starts: the platform's clock may be behind."""
SETTLE = dt.timedelta(minutes=3)
"""How long after the attempt began before "not there" is believed (a slow request may still land)."""

_SPACE = re.compile(r"\s+")
_LINK = "\u2063link\u2063"


@dataclass(frozen=True)
class Seen:
    """One post of the account's own timeline, as the platform showed it."""

    id: str
    text: str
    reply_to: str | None
    created_at: dt.datetime | None
    url: str | None = None
    extra: dict | None = None

    def ref(self) -> PostRef:
        return PostRef(id=self.id, url=self.url, extra=dict(self.extra or {}))


def normalised(text: str, *, unescape: bool = False) -> str:
    """``text`` as compared: NFC, entities decoded (``unescape``), links as one token, spaces folded."""
    from publisher import lengths

    text = unicodedata.normalize("NFC", text or "")
    if unescape:
        text = html.unescape(text)
    spans = lengths.url_spans(text)
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out += [text[last:start], f" {_LINK} "]
        last = end
    out.append(text[last:])
    return _SPACE.sub(" ", "".join(out)).strip()


def same_text(ours: str, theirs: str, *, unescape: bool = False) -> bool:
    """Whether the platform's ``theirs`` is the post ``ours`` (see the module docstring)."""
    a, b = normalised(ours), normalised(theirs, unescape=unescape)
    if a == b:
        return True
    while b.endswith(_LINK) and len(b) > len(a):  # X's link to the attached images
        b = b[: -len(_LINK)].rstrip()
        if a == b:
            return True
    return False


def window_start(since: dt.datetime) -> dt.datetime:
    return since - CLOCK_MARGIN


def decide(seen: Sequence[Seen], *, text: str, reply_to: PostRef | None, since: dt.datetime, complete: bool,
           platform: str, incomplete: str = "", now: dt.datetime | None = None,
           unescape: bool = False) -> PostRef | CannotTell | None:
    """The outcome from the account's own posts ``seen`` (newest first or not: order is not used).

    ``complete``: ``seen`` holds every post of the account made since :func:`window_start`;
    ``incomplete`` says why not, when it does not.
    """
    start = window_start(since)
    recent = [s for s in seen if s.created_at is None or s.created_at >= start]
    if reply_to is not None:
        replies = [s for s in recent if s.reply_to == reply_to.id]
        matching = [s for s in replies if same_text(text, s.text, unescape=unescape)]
        if len(matching) == 1:
            return matching[0].ref()
        if len(matching) > 1:
            return CannotTell(f"{len(matching)} posts with this text reply to {reply_to.id} "
                              f"({', '.join(s.id for s in matching)}); look at the account")
        if replies:
            return CannotTell(f"there is a reply to {reply_to.id} with other text "
                              f"({', '.join(s.id for s in replies)}); look at it")
    else:
        matching = [s for s in recent if s.reply_to is None and same_text(text, s.text, unescape=unescape)]
        if len(matching) == 1:
            return matching[0].ref()
        if len(matching) > 1:
            return CannotTell(f"{len(matching)} posts with this text since the attempt "
                              f"({', '.join(s.id for s in matching)}); look at the account")
    if not complete:
        return CannotTell(incomplete or f"the look-up on {platform} did not reach back to the attempt")
    now = now or dt.datetime.now(dt.timezone.utc)
    if now < since + SETTLE:
        wait = int((since + SETTLE - now).total_seconds()) + 1
        return CannotTell(f"it is not there yet, but the attempt was only "
                          f"{int((now - since).total_seconds())} s ago and a slow request may still land; "
                          f"check again in {wait} s")
    return None
