"""A correction of a posted article goes out as a reply to the original thread, not as a new one.

When a changed file comes in whose earlier revision is already on a platform, the new
revision's publication on that platform is linked to the posted one (table ``corrections``,
migration ``m006_corrections``). It still waits for a person (as before: a correction is never
a silent repost); once approved, its first post replies to the LAST post of the original thread
(and, on Bluesky, keeps the original's first post as ``root``), so followers of the thread see
the correction under it. `ingest`, `approve`, `show` and `publish --dry-run` say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import Ingested
    from publisher.platforms.base import PostRef


@dataclass(frozen=True)
class Anchor:
    original: int
    """The posted publication this one corrects."""
    root: "PostRef"
    """The original thread's first post."""
    last: "PostRef"
    """The original thread's last post (what the correction replies to)."""


def link(outbox: "Outbox", ingested: "Ingested", now: dt.datetime | None = None) -> dict[int, int]:
    """Link each new publication of ``ingested`` to the posted publication of an earlier revision
    on the same platform; returns {new publication: original}."""
    if not ingested.earlier_posted or not ingested.publications:
        return {}
    from publisher.clock import ts, utcnow

    now = now or utcnow()
    earlier = {}
    for pub_id in ingested.earlier_posted:
        pub = outbox.get(pub_id)
        if pub.posted_count:
            earlier.setdefault(pub.platform, pub_id)  # the first posted one: the thread people saw
    linked = {}
    with outbox.transaction() as db:
        for pub_id in ingested.publications:
            platform = db.execute("SELECT platform FROM publications WHERE id = ?", (pub_id,)).fetchone()[0]
            if platform in earlier:
                db.execute("INSERT INTO corrections (publication_id, original_id, created_at) "
                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (pub_id, earlier[platform], ts(now)))
                linked[pub_id] = earlier[platform]
    return linked


def original_of(outbox: "Outbox", publication_id: int) -> int | None:
    try:
        row = outbox.db.execute("SELECT original_id FROM corrections WHERE publication_id = ?",
                                (publication_id,)).fetchone()
    except Exception:  # a database from before m006_corrections, read-only
        return None
    return row[0] if row else None


def anchor(outbox: "Outbox", publication_id: int) -> Anchor | None:
    """Where a correction's first post hangs (None: not a correction, or the original has no
    posted ids to reply to)."""
    original = original_of(outbox, publication_id)
    if original is None:
        return None
    refs = [r for r in outbox.posted_refs(original) if r.id]
    if not refs:
        return None
    return Anchor(original, refs[0], refs[-1])


def describe(outbox: "Outbox", publication_id: int) -> str | None:
    """``a correction of publication 4: it goes out as a reply to that thread (LINK)``, or None."""
    found = anchor(outbox, publication_id)
    if found is None:
        return None
    where = found.last.url or found.last.id
    text = f"a correction of publication {found.original}: it goes out as a reply to that thread ({where})"
    same = duplicates(outbox, publication_id, found.original)
    if same:
        text += (f"; post{'s' if len(same) > 1 else ''} {', '.join(map(str, same))} "
                 f"{'are' if len(same) > 1 else 'is'} word for word as already posted, which "
                 f"{outbox.get(publication_id).platform} may refuse as a duplicate: `publisher edit {publication_id}` "
                 "to say what changed")
    return text


def duplicates(outbox: "Outbox", publication_id: int, original: int) -> list[int]:
    """1-based numbers of the posts of ``publication_id`` whose text is already posted in ``original``."""
    posted = {p.text for p in outbox.thread(original).posts if p.posted}
    return [p.index + 1 for p in outbox.thread(publication_id).posts if p.text in posted]
