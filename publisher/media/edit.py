"""Editing a queued thread's images (``publisher edit ID --drop-image / --image / --alt``).

Keeping images with their posts when a thread's text is edited is :mod:`publisher.publishing.editing`'s."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any, Mapping, Sequence

from publisher.media.choose import credit_label, credit_line, full_alt
from publisher.media.fetch import Fetcher
from publisher.media.images import fit


# --- editing a queued thread's images (publisher edit ID --drop-image / --image / --alt) ------


def edit_images(outbox: Any, publication_id: int, *, drop: Sequence[int] = (), add: Mapping[int, str] | None = None,
                alt: Mapping[int, str] | None = None, credit: str | None = None, fetcher: Fetcher | None = None,
                now: dt.datetime | None = None) -> Any:
    """Drop, replace or re-describe the images of a queued thread (post numbers are 1-based).

    ``add``: post -> image source (a URL or a file), replacing that post's images; ``credit``
    is its credit (shown in the post as "Image: …" and in the alt text). ``alt``: post -> new
    alt text for the images of that post (the credit is kept). Stores a new thread like
    :meth:`Outbox.edit`, as a draft: the approval is withdrawn. Posts already posted cannot
    change; a post whose text would go over the limit refuses the whole edit.
    """
    from publisher import lengths
    from publisher.errors import StoreError
    from publisher.models import Post, PostImage, Thread
    from publisher.clock import aware, utcnow

    add, alt = dict(add or {}), dict(alt or {})
    now = aware(now or utcnow(), "now")
    with outbox.transaction():
        pub = outbox.get(publication_id)
        if pub.state in ("publishing", "posted", "rejected"):
            raise StoreError(f"publication {publication_id} is {pub.state}; its images cannot be edited")
        if pub.unknown_index is not None:
            raise StoreError(f"publication {publication_id}: settle the outcome of post {pub.unknown_index + 1} "
                             "first (`publisher resolve`)")
        current = outbox._thread(pub.thread_id, publication_id)
        n = len(current.posts)
        for number in [*drop, *add, *alt]:
            if not 1 <= number <= n:
                raise StoreError(f"publication {publication_id} has posts 1 to {n}, not {number}")
            if number <= pub.posted_count:
                raise StoreError(f"publication {publication_id}: post {number} is already on {pub.platform}")
        texts = [p.text for p in current.posts]
        images = list(current.media)
        card = current.card

        def remove(index: int) -> None:
            for m in [m for m in images if m.post == index]:
                images.remove(m)
                if m.credit:
                    label = credit_line(credit_label(m.credit))
                    texts[index] = re.sub(r"\n*" + re.escape(label) + r"[ \t]*", "", texts[index]).rstrip()

        for number in drop:
            if not any(m.post == number - 1 for m in images) and not (card and card.post == number - 1):
                raise StoreError(f"publication {publication_id}: post {number} has no image")
            remove(number - 1)
            if card is not None and card.post == number - 1 and not add.get(number):
                card = None
        for number, source in add.items():
            index = number - 1
            fetcher = fetcher or Fetcher()
            got = fetcher.fetch(source, operator=True)
            fitted = fit(fetcher.store.get(got.sha256), pub.platform, source)
            remove(index)
            if credit:
                texts[index] = texts[index].rstrip() + "\n\n" + credit_line(credit_label(credit))
            description = alt.pop(number, None) or "An image."
            images.append(PostImage(post=index, sha256=fetcher.store.put(fitted.data), mime=fitted.mime,
                                    width=fitted.width, height=fitted.height, size=fitted.size,
                                    original_sha256=got.sha256, original_size=got.size,
                                    alt=full_alt(description, credit, pub.platform), credit=credit, source=source,
                                    animated=fitted.animated))
        for number, description in alt.items():
            targets = [m for m in images if m.post == number - 1]
            if not targets:
                raise StoreError(f"publication {publication_id}: post {number} has no image to describe")
            for m in targets:
                images[images.index(m)] = replace(m, alt=full_alt(description.strip(), m.credit, pub.platform))
        images.sort(key=lambda m: m.post)
        posts = tuple(Post(text=t, role=p.role, length=lengths.measure(pub.platform, t), limit=p.limit)  # type: ignore[arg-type]
                      for t, p in zip(texts, current.posts))
        over = [f"post {i + 1} would have {p.length} characters, over the limit of {p.limit} with its credit line"
                for i, p in enumerate(posts) if p.length > p.limit]
        if over:
            raise StoreError(f"publication {publication_id} not saved: {'; '.join(over)}")
        article_hash = outbox.db.execute("SELECT source_hash FROM articles WHERE id = ?",
                                         (pub.article_id,)).fetchone()[0]
        thread = Thread(platform=pub.platform, posts=posts, article_hash=article_hash, title=current.title,
                        dropped=current.dropped, warnings=current.warnings, media=tuple(images), card=card)
        if thread.content_hash == current.content_hash:
            return pub
        thread_id = outbox._insert_thread(pub.article_id, thread, "edit", now)
        why = "images edited" + ("; approval withdrawn" if pub.approved_hash else "")
        outbox._transition(publication_id, "draft", now, why, thread_id=thread_id, n_posts=len(posts),
                           approved_hash=None, approved_at=None, attempts=0)
        return outbox.get(publication_id)
