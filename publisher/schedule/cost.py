"""What posting costs: X's pay-per-use prices, in one place.

X (pay-per-use API, 2026) charges per post created: $0.015 for a post, $0.20 for a post that
contains a URL. The prices can be overridden in schedule.yaml (``costs: {x: {post: ...,
post_with_url: ...}}``). Mastodon and Bluesky cost nothing per post.

A URL is what X itself links: twitter-text's URL extraction (``example.com`` counts, like
``https://example.com/a``), the same rule the length count uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.schedule.config import Schedule

#: US dollars per post on X, when schedule.yaml does not say otherwise.
X_POST = 0.015
X_POST_WITH_URL = 0.20


@dataclass(frozen=True)
class Prices:
    post: float = X_POST
    post_with_url: float = X_POST_WITH_URL

    @classmethod
    def of(cls, schedule: "Schedule | None") -> "Prices":
        if schedule is None:
            return cls()
        return cls(post=schedule.costs.x.post, post_with_url=schedule.costs.x.post_with_url)


_SCHEME = re.compile(r"https?://[^\s/$.?#]", re.IGNORECASE)
_MAYBE_DOMAIN = re.compile(r"[A-Za-z0-9-]\.[A-Za-z]{2,}")


def has_url(text: str) -> bool:
    """Whether X sees a link in ``text``. A scheme settles it; text with nothing shaped like a
    domain has none; only the rest asks twitter-text (its import takes a quarter of a second,
    which the queue commands do not pay for the usual ``https://`` attribution link)."""
    if _SCHEME.search(text):
        return True
    if not _MAYBE_DOMAIN.search(text):
        return False
    from publisher.lengths import url_spans

    return bool(url_spans(text))


@dataclass(frozen=True)
class Estimate:
    posts: int
    with_url: int
    dollars: float

    def text(self) -> str:
        if not self.posts:
            return "$0.00"
        links = f", {self.with_url} with a link" if self.with_url else ""
        return f"${self.dollars:.3f} on X ({self.posts} post{'s' if self.posts != 1 else ''}{links})"


def estimate(platform: str, texts: Iterable[str], prices: Prices | None = None) -> Estimate:
    """The estimated cost of posting ``texts`` on ``platform`` (0 off X)."""
    texts = list(texts)
    if platform != "x":
        return Estimate(len(texts), 0, 0.0)
    prices = prices or Prices()
    with_url = sum(1 for t in texts if has_url(t))
    dollars = with_url * prices.post_with_url + (len(texts) - with_url) * prices.post
    return Estimate(len(texts), with_url, round(dollars, 6))


def money(dollars: float) -> str:
    return f"${dollars:.3f}"


def thread_cost(outbox: "Outbox", publication_id: int, schedule: "Schedule | None" = None, *, remaining: bool = True):
    """The estimated cost (:class:`Estimate`) of what is left to post of a publication."""
    pub = outbox.get(publication_id)
    posts = outbox.thread(publication_id).posts
    texts = [p.text for p in posts[pub.posted_count:]] if remaining else [p.text for p in posts]
    return estimate(pub.platform, texts, Prices.of(schedule))
