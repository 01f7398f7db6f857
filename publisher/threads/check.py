"""After a hand edit: re-measure a thread's posts and check what the platform would refuse or the credit lose.

Contract: ``check_thread(thread) -> [problem, ...]`` (empty: all good), ``edited_thread(thread, texts)``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from publisher import lengths
from publisher.lengths import PLATFORMS
from publisher.models import Post, Thread
from publisher.threads.options import ThreadOptions
from publisher.threads.templates import tidy


def edited_thread(thread: Thread, texts: Sequence[str]) -> Thread:
    """``thread`` with its posts' texts replaced by ``texts`` (same number of posts) and re-measured."""
    if len(texts) != len(thread.posts):
        raise ValueError(f"the thread has {len(thread.posts)} posts; got {len(texts)} texts")
    posts = tuple(
        Post(text=tidy(text), role=post.role, length=lengths.measure(thread.platform, tidy(text)),
             limit=post.limit)
        for post, text in zip(thread.posts, texts)
    )
    return replace(thread, posts=posts)


def check_thread(thread: Thread, options: ThreadOptions | None = None, *,
                 edited_from: Thread | None = None) -> list[str]:
    """Problems that would make the platform refuse the thread, or that would post it without
    its credits, one line each (empty: all good).

    Lengths are measured afresh from the texts (the recorded lengths may be stale after an
    edit), against each post's own limit, or the options' limit for the platform when given;
    the options' maximum number of posts applies when given. Exactly one attribution post.

    ``edited_from`` is the thread before a hand edit: the attribution post must then keep its
    place at the end (when it was last, as every packaged template puts it), keep the links
    to the original and keep saying the thread is machine-translated.
    """
    problems: list[str] = []
    if thread.platform not in PLATFORMS:
        return [f"unknown platform {thread.platform!r}"]
    if not thread.posts:
        return ["the thread has no posts"]
    max_posts = options.max_posts_for(thread.platform) if options else None
    if max_posts is not None and len(thread.posts) > max_posts:
        problems.append(f"{len(thread.posts)} posts, more than the maximum of {max_posts}")
    for number, post in enumerate(thread.posts, start=1):
        limit = options.limit(thread.platform) if options else post.limit
        problem = lengths.problem(thread.platform, post.text, limit)
        if problem:
            problems.append(f"post {number}: {problem}")
    credits = [n for n, p in enumerate(thread.posts, start=1) if p.role == "attribution" and p.text.strip()]
    if not credits:
        problems.append("no attribution post: the original must be credited")
    elif len(credits) > 1:
        problems.append(f"posts {', '.join(map(str, credits))} are all marked attribution; keep one")
    elif edited_from is not None:
        problems.extend(_attribution_kept(thread, credits[0], edited_from))
    return problems


_DISCLOSURE = re.compile(r"machine[\s-]*translat", re.IGNORECASE)


def _http_links(text: str) -> list[str]:
    return [text[s:e] for s, e in lengths.url_spans(text) if text[s:e].lower().startswith(("http://", "https://"))]


def _attribution_kept(thread: Thread, number: int, before: Thread) -> list[str]:
    """What an edit must keep of the attribution post of ``before`` (see :func:`check_thread`)."""
    old = next((p for p in before.posts if p.role == "attribution"), None)
    if old is None:
        return []
    new = thread.posts[number - 1]
    problems = []
    if before.posts[-1].role == "attribution" and number != len(thread.posts):
        problems.append(f"the attribution post must stay last (it is post {number} of {len(thread.posts)})")
    for link in _http_links(old.text):
        if link not in new.text:
            problems.append(f"the attribution post must keep the link to the original ({link})")
    if _DISCLOSURE.search(old.text) and not _DISCLOSURE.search(new.text):
        problems.append("the attribution post must keep saying that the thread is machine-translated")
    return problems
