"""The content-addressed image store, the media identity approval covers, and the media errors."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from publisher.errors import PublisherError

if TYPE_CHECKING:
    from publisher.models import LinkCard, PostImage


class MediaError(PublisherError):
    """An image that cannot be used: the message names it and the problem, in one line."""


class FetchFailed(MediaError):
    """The image could not be fetched at all (offline, host unreachable, timeout)."""


# --- identity (part of Thread.content_hash) ---------------------------------------------------


def media_identity(media: Sequence["PostImage"], card: "LinkCard | None") -> str:
    """What approval covers of a thread's images and card: bytes, alt text, credit, placement."""
    parts = [f"{m.post}|{m.sha256}|{m.alt}|{m.credit or ''}" for m in media]
    if card is not None:
        parts.append(f"card|{card.post}|{card.uri}|{card.title}|{card.description}|"
                     f"{card.thumb.sha256 if card.thumb else ''}")
    return "\n".join(parts)


# --- the store -------------------------------------------------------------------------------


class MediaStore:
    """Content-addressed image files: ``root/ab/abcdef…`` (sha256 of the bytes), plus
    ``root/by-url/<sha256 of the URL>`` holding the content hash a URL gave, so that an image
    is fetched once however often it is previewed or ingested."""

    def __init__(self, root: Path | str | None = None):
        if root is None:
            from publisher.config import Paths

            root = Paths.from_env().home / "media"
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise MediaError(f"not a media hash: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if path.is_file() and path.stat().st_size == len(data):
            return digest
        self._write(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MediaError(f"image {sha256[:12]} is missing from {self.root} (deleted?); "
                             "drop or replace it with `publisher edit`") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaError(f"image {sha256[:12]} in {self.root} is damaged (its bytes changed); "
                             "drop or replace it with `publisher edit`")
        return data

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remembered(self, url: str) -> str | None:
        """The content hash ``url`` gave before, when its bytes are still here."""
        try:
            digest = (self.root / "by-url" / _url_key(url)).read_text().strip()
        except OSError:
            return None
        return digest if re.fullmatch(r"[0-9a-f]{64}", digest) and self.has(digest) else None

    def remember(self, url: str, sha256: str) -> None:
        self._write(self.root / "by-url" / _url_key(url), sha256.encode())

    def _write(self, path: Path, data: bytes) -> None:
        from publisher.config import write_atomically

        for folder in (self.root, path.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(path, data, mode=0o600)


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()
