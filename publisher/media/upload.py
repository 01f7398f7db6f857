"""Uploading a post's images and card thumb (called by :mod:`publisher.publishing.publish` while
the publication is claimed), and describing a thread's images for people."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, Iterable

from publisher.queue.media import record_upload, stored_upload
from publisher.media.store import MediaError, MediaStore

if TYPE_CHECKING:
    from publisher.models import LinkCard, PostImage


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def describe(media: Iterable["PostImage"], card: "LinkCard | None" = None, *, n_posts: int | None = None) -> list[str]:
    """One line per image (and the card) for people: post, bytes before → after, alt, credit."""
    lines = []
    for m in media:
        kind = "GIF, animated" if m.animated else m.mime.split("/")[-1].upper()
        lines.append(f"post {m.post + 1}: image {m.width}x{m.height} {kind}, {human_bytes(m.original_size)} → "
                     f"{human_bytes(m.size)} ({m.sha256[:12]}) from {m.source}")
        lines.append(f"    alt: {m.alt}")
        lines.append(f"    credit: {m.credit or '(none given by the article)'}")
    if card is not None:
        thumb = f", thumb {human_bytes(card.thumb.size)} ({card.thumb.sha256[:12]})" if card.thumb else ", no thumb"
        lines.append(f"post {card.post + 1}: link card {card.uri} — {card.title}{thumb}")
    return lines


def _upload_failure(platform: str, exc: BaseException, what: str) -> BaseException:
    """An upload's failure as the publisher treats it: nothing is visible on the platform after a
    failed upload (an orphan upload expires unseen), so an unknown outcome is only transient."""
    from publisher.platforms.base import OutcomeUnknown, PostFailed, Transient

    if isinstance(exc, OutcomeUnknown):
        return Transient(platform, f"{what}: {str(exc).removeprefix(platform + ': ')} (nothing is posted yet)")
    if isinstance(exc, PostFailed):
        exc.args = (f"{exc.args[0]} ({what})",) if exc.args else exc.args
        return exc
    return exc


def attachments_for(outbox: Any, publication_id: int, thread: Any, index: int, platform: Any,
                    clock: Callable[[], dt.datetime], store: MediaStore | None = None) -> dict[str, Any]:
    """Upload (or reuse) the images and card thumb of post ``index`` and return the keyword
    arguments for ``platform.post`` (``media=``, ``card=``); {} for a post without any.

    Each upload's media id is committed to ``media_uploads`` before returning, so it is stored
    before the post that uses it is sent; an id stored by an earlier, interrupted attempt is
    reused unless the platform has expired it by now (then the image is uploaded again).
    Classified failures (:class:`publisher.platforms.base.PostFailed`) propagate; a missing or
    damaged stored image is :class:`Rejected` (a person drops or replaces it).
    """
    from publisher.platforms.base import Attachment, Card, MediaItem, Rejected

    images = [m for m in thread.media if m.post == index]
    card = thread.card if thread.card is not None and thread.card.post == index else None
    if not images and card is None:
        return {}
    if not hasattr(platform, "upload_media"):
        raise Rejected(platform.name, f"post {index + 1} has images, and this platform adapter cannot upload them")
    store = store or MediaStore()
    pub = outbox.get(publication_id)

    def one(kind: str, position: int, item: Any) -> Attachment:
        now = clock()
        found = stored_upload(outbox.db, publication_id, index, kind, position, item.sha256, item.alt, now)
        if found is None:
            try:
                data = store.get(item.sha256)
            except MediaError as exc:
                raise Rejected(platform.name, f"post {index + 1}: {exc}") from None
            what = f"uploading image {position + 1} of post {index + 1}" if kind == "image" else \
                f"uploading the link card's image for post {index + 1}"
            try:
                found = platform.upload_media(MediaItem(data=data, mime=item.mime, alt=item.alt, width=item.width,
                                                        height=item.height, sha256=item.sha256,
                                                        animated=item.animated))
            except Exception as exc:
                failure = _upload_failure(platform.name, exc, what)
                if failure is exc:
                    raise
                raise failure from exc
            with outbox.transaction() as db:
                outbox._own(publication_id)
                record_upload(db, publication_id, pub.platform, pub.account, index, kind, position, item.sha256,
                              item.alt, found, clock())
        return Attachment(media_id=found.media_id, mime=item.mime, alt=item.alt, width=item.width,
                          height=item.height, extra=found.extra)

    kwargs: dict[str, Any] = {}
    if images:
        kwargs["media"] = tuple(one("image", pos, m) for pos, m in enumerate(images))
    if card is not None:
        thumb = one("thumb", 0, card.thumb) if card.thumb is not None else None
        kwargs["card"] = Card(uri=card.uri, title=card.title, description=card.description, thumb=thumb)
    return kwargs
