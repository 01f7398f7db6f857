"""Editing a queued thread by hand: what an edit may change, checked before the queue stores it.

:func:`edit_publication` takes the posts a person wrote (text and role), renumbers "n/m"
prefixes, carries the images along, measures every post the platform's way and checks the
thread (:func:`publisher.threads.render.check_thread`); only then does
:meth:`publisher.queue.outbox.Outbox.replace_thread` store it, as a draft.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from publisher import lengths
from publisher.clock import aware, utcnow
from publisher.errors import StoreError
from publisher.media.choose import credit_label, credit_line
from publisher.models import Post, Thread
from publisher.queue.records import POST_ROLES, EditedPost, Publication, StoredThread
from publisher.queue.states import post_label, refuse_if_claimed, refuse_if_final
from publisher.threads.render import DEFAULT_MAX_POSTS, ThreadOptions, check_thread

if TYPE_CHECKING:
    from publisher.models import LinkCard, PostImage
    from publisher.queue.outbox import Outbox


def edit_publication(outbox: "Outbox", publication_id: int, posts: Sequence["str | EditedPost"], *,
                     max_posts: int | None = None, now: dt.datetime | None = None) -> Publication:
    """Replace the thread's posts; withdraws any approval. Unchanged posts change nothing.

    ``posts`` are :class:`EditedPost` (text and role); plain strings keep the roles the
    posts had, by position, and are only accepted when the number of posts stays the same
    (roles by position would turn a point into the attribution when a post is deleted).

    The edited thread must pass :func:`publisher.threads.render.check_thread`: every post within
    its platform's limit (measured the platform's way), at most ``max_posts`` posts
    (default: the renderer's), exactly one attribution post, which stays last and keeps
    the original's link and the machine-translation note. Posts already posted cannot be
    changed. When the number of posts changes, "n/m" numbers at the start of posts that
    were numbered for the old count are renumbered; that is refused when numbered posts are
    already on the platform. A refused edit stores nothing and says why in one line.
    """
    now = aware(now or utcnow(), "now")
    with outbox.transaction():
        pub = outbox.get(publication_id)
        refuse_if_claimed(pub, "edited")
        refuse_if_final(pub, "edited")
        if pub.unknown_index is not None:
            raise StoreError(f"publication {publication_id}: settle the outcome of "
                             f"{post_label(pub.unknown_index, pub.n_posts)} first (`publisher resolve`)")
        current = outbox.thread(publication_id)
        edited = _edited_posts(posts, current)
        texts = [p.text for p in edited]
        roles = [p.role for p in edited]
        if [p.text for p in current.posts] == texts and [p.role for p in current.posts] == roles:
            return pub
        if not texts:
            raise StoreError(f"publication {publication_id}: a thread needs at least one post")
        bad_roles = [f"post {i}: unknown role {r!r} (roles are {', '.join(POST_ROLES)})"
                     for i, r in enumerate(roles, start=1) if r not in POST_ROLES]
        if bad_roles:
            raise StoreError(f"publication {publication_id} not saved: {'; '.join(bad_roles)}")
        for post in current.posts[:pub.posted_count]:
            if post.index >= len(texts) or texts[post.index] != post.text:
                raise StoreError(f"publication {publication_id}: post {post.index + 1} is already on "
                                 f"{pub.platform} and cannot be changed")
        texts = _renumbered(texts, current)
        for post in current.posts[:pub.posted_count]:
            if texts[post.index] != post.text:
                raise StoreError(f"publication {publication_id} not saved: post {post.index + 1} is already on "
                                 f"{pub.platform} numbered for {len(current.posts)} posts; keep "
                                 f"{len(current.posts)} posts")
        limit = current.posts[0].limit if current.posts else lengths.DEFAULT_LIMITS[pub.platform]
        article_hash = outbox.article(pub.article_id).source_hash
        media, card, media_problems = carried_media(current.media, current.card, [p.text for p in current.posts],
                                                    texts, roles)
        thread = Thread(platform=pub.platform, title=current.title, article_hash=article_hash,
                        dropped=current.dropped, warnings=current.warnings, media=media, card=card,
                        posts=tuple(Post(text=t, role=r, length=lengths.measure(pub.platform, t),  # type: ignore[arg-type]
                                         limit=limit) for t, r in zip(texts, roles)))
        before = Thread(platform=pub.platform, title=current.title, article_hash=article_hash,
                        posts=tuple(Post(text=p.text, role=p.role, length=p.length, limit=p.limit)  # type: ignore[arg-type]
                                    for p in current.posts))
        options = ThreadOptions(limits={pub.platform: limit}, max_posts=max_posts or DEFAULT_MAX_POSTS)
        problems = check_thread(thread, options, edited_from=before) + media_problems
        if problems:
            raise StoreError(f"publication {publication_id} not saved: {'; '.join(problems)}")
        why = f"edited ({len(texts)} posts)"
        if texts != [p.text for p in edited]:
            why += "; numbering updated"
        if pub.approved_hash:
            why += "; approval withdrawn"
        return outbox.replace_thread(publication_id, thread, why, now=now)


def _edited_posts(posts: Sequence["str | EditedPost"], current: StoredThread) -> list[EditedPost]:
    """``posts`` as EditedPost, stripped; plain strings take the current roles by position."""
    if any(isinstance(p, str) for p in posts) and len(posts) != len(current.posts):
        raise ValueError(f"the thread has {len(current.posts)} posts and the edit {len(posts)}: give each post's "
                         "role (EditedPost), positions no longer say it")
    return [EditedPost(text=p.strip(), role=current.posts[i].role) if isinstance(p, str)
            else EditedPost(text=p.text.strip(), role=p.role.strip().lower())
            for i, p in enumerate(posts)]


_NUMBERING = re.compile(r"(\d+)/(\d+)(?=\s|$)")


def _renumbered(texts: list[str], current: StoredThread) -> list[str]:
    """``texts`` with "n/m " prefixes numbered for the current thread's count renumbered for
    their new place and count. Only when the current thread is numbered that way at all."""
    old_total = len(current.posts)
    numbered = any((m := _NUMBERING.match(p.text)) and int(m.group(1)) == p.index + 1
                   and int(m.group(2)) == old_total for p in current.posts)
    if not numbered:
        return texts
    out = []
    for number, text in enumerate(texts, start=1):
        m = _NUMBERING.match(text)
        if m and int(m.group(2)) == old_total:
            text = f"{number}/{len(texts)}{text[m.end():]}"
        out.append(text)
    return out


def carried_media(media: Sequence["PostImage"], card: "LinkCard | None", old_texts: Sequence[str],
                  new_texts: Sequence[str], new_roles: Sequence[str]) -> tuple[tuple["PostImage", ...], "LinkCard | None", list[str]]:
    """The images of a thread whose posts were edited: each stays with its post (by index);
    an image whose post is gone is dropped. Problems: an image whose credit line was edited out."""
    kept, problems = [], []
    for m in media:
        if m.post >= len(new_texts):
            continue
        label = credit_line(credit_label(m.credit)) if m.credit else None
        if label and label not in new_texts[m.post]:
            problems.append(f"post {m.post + 1} carries an image credited to {m.credit}: keep its line "
                            f"\"{label}\", or drop the image (publisher edit ID --drop-image {m.post + 1})")
        kept.append(m)
    if card is not None:
        index = next((i for i, r in enumerate(new_roles) if r == "attribution"), None)
        card = replace(card, post=index) if index is not None else None
    return tuple(kept), card, problems
