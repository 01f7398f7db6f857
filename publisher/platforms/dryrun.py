"""A platform that posts nothing and records what would have been posted.

Used by ``publisher publish --dry-run`` to show the exact calls a real publish would make, and
by tests as the fake behind the :class:`~publisher.platforms.base.Platform` protocol: it can
be told to fail a given call with any classified failure, before or after "posting" it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from publisher.platforms.base import Identity, PostFailed, PostRef


@dataclass(frozen=True)
class DryRunPost:
    """One call to :meth:`DryRunPlatform.post`, as it was made."""

    text: str
    reply_to: str | None
    root: str | None
    idempotency_key: str
    ref: PostRef
    media: tuple[str, ...] = ()
    """Ids of the (dry-run) uploads the post carries."""


@dataclass(frozen=True)
class Fault:
    """Make one call fail: ``error`` is raised; ``posted`` says whether the post was recorded first
    (a request that reached the platform but whose answer was lost)."""

    error: PostFailed
    posted: bool = False


class DryRunPlatform:
    """Records posts instead of sending them; ids are ``dry-run-1``, ``dry-run-2``...

    ``faults`` maps a call number (0-based, counting every call to :meth:`post`) to a
    :class:`Fault`. ``log`` appends one JSON line per recorded post to that file.
    """

    name = "dry-run"

    def __init__(self, *, faults: Mapping[int, Fault] | None = None, log: Path | None = None,
                 handle: str = "dry-run"):
        self.posts: list[DryRunPost] = []
        self.uploads: list[Any] = []
        self.calls = 0
        self.faults = dict(faults or {})
        self.log = log
        self.handle = handle

    def check(self) -> Identity:
        return Identity(platform=self.name, handle=self.handle)

    def upload_media(self, item: Any) -> Any:
        """Records the upload (nothing is sent): ids ``dry-run-media-1``…"""
        from publisher.queue.media import Upload

        self.uploads.append(item)
        return Upload(media_id=f"dry-run-media-{len(self.uploads)}", extra={})

    def post(self, text: str, *, reply_to: PostRef | None, root: PostRef | None,
             idempotency_key: str, media: Sequence[Any] = (), card: Any = None) -> PostRef:
        call = self.calls
        self.calls += 1
        fault = self.faults.get(call)
        if fault is not None and not fault.posted:
            raise fault.error
        ref = PostRef(id=f"dry-run-{len(self.posts) + 1}", url=None)
        record = DryRunPost(text=text, reply_to=reply_to.id if reply_to else None, root=root.id if root else None,
                            idempotency_key=idempotency_key, ref=ref, media=tuple(m.media_id for m in media))
        self.posts.append(record)
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"id": ref.id, "text": text, "reply_to": record.reply_to, "root": record.root,
                                    "idempotency_key": idempotency_key}, ensure_ascii=False) + "\n")
        if fault is not None:
            raise fault.error
        return ref

    def find_post(self, text: str, *, reply_to: PostRef | None, since: Any,
                  idempotency_key: str) -> PostRef | None:
        """The recorded post sent with ``idempotency_key``, else None (every post is recorded)."""
        return next((p.ref for p in self.posts if p.idempotency_key == idempotency_key), None)
